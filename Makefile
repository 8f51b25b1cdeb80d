# bounced: thin wrapper over CMake presets (the build itself lives in CMakeLists.txt).
#   make run    deps, build the bounced binary only, start it (see README)
#   make install  release build of the binary, then cmake --install (PREFIX, DESTDIR)
#   make deb    the Debian package (dpkg-buildpackage, into ..)
#   make test   deps, gcc -Werror build + all tests, then clang ASan/UBSan build + all tests
#   make bench  release build + benchmarks
#   make corpus-realmta  regenerate tests/corpus/realmta with real MTAs (root; see tests/realmta/README.md)
.PHONY: all deps build build-bin asan release install deb run test test-dev test-asan bench fuzz format clean corpus-realmta

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?= --output-on-failure

all: build

deps:
	@BNC_DEPS_OPTIONAL=$(BNC_DEPS_OPTIONAL) sh scripts/deps.sh

build: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

# only what `make run` runs: tests, fuzzers and benchmarks build under test/fuzz/bench
build-bin: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS) --target bounced

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)

release: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

PREFIX ?= /usr/local
install: deps
	@cmake --preset release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build --preset release -j $(JOBS) --target bounced
	cmake --install build/release

deb: deps
	dpkg-buildpackage -b -uc -us -j$(JOBS)

run: build-bin
	@sh scripts/run.sh build/dev/bounced $(ARGS)

test-dev: build
	cd build/dev && ctest -j $(JOBS) $(CTEST_ARGS)

test-asan: asan
	cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -j $(JOBS) $(CTEST_ARGS)

test: test-dev test-asan

bench: BNC_DEPS_OPTIONAL=1
bench: release
	@sh bench/bench.sh build/release

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

corpus-realmta:
	/usr/bin/python3 tests/realmta/generate.py $(ARGS)

clean:
	rm -rf build
