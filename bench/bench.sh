#!/bin/sh
# make bench: run every benchmark against a release build. Each bench/run_*.sh gets the
# build directory as $1 and prints its own figures. The corpus is ../shared/corpus/sisimai
# when present, else examples/.
set -u
build=${1:-build/release}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
export BNC_BENCH_CORPUS=${BNC_BENCH_CORPUS:-$top/../shared/corpus/sisimai}
[ -d "$BNC_BENCH_CORPUS" ] || BNC_BENCH_CORPUS=$top/examples
echo "bounced benchmarks ($(uname -m), $(nproc) cores), corpus: $BNC_BENCH_CORPUS"
rc=0
for s in "$here"/run_*.sh; do
    [ -e "$s" ] || continue
    echo
    echo "== $(basename "$s" .sh | sed 's/^run_//')"
    sh "$s" "$top/$build" || { echo "   (failed: $s)"; rc=1; }
done
exit $rc
