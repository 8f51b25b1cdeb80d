#!/bin/sh
# `bounced parse --jobs N`: the parallel run writes the same bytes, on stdout and on stderr,
# as the serial one (-j 1), in every output format, over tests/corpus/dsn, the shared Sisimai
# set when it is there, and a directory with unreadable entries (dangling links, a file over
# limits.message_size, a missing argument) whose errors must keep their place; a bad --jobs
# is a usage error.
set -eu
BIN=${BOUNCED_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "skip: BOUNCED_BIN not set"
    exit 77
fi
SRC=${BNC_SOURCE_DIR:-$(pwd)}
T=$(mktemp -d /tmp/bnc-jobs-XXXXXX)
trap 'rm -rf "$T"' EXIT
export XDG_CACHE_HOME="$T/cache"
fails=0

same() { # same NAME ARGS...: -j 1 against -j 2, -j 5 and the default
    name=$1
    shift
    rc1=0
    "$BIN" parse -j 1 "$@" >"$T/s.out" 2>"$T/s.err" || rc1=$?
    for j in 2 5 default; do
        rc2=0
        if [ "$j" = default ]; then
            "$BIN" parse "$@" >"$T/p.out" 2>"$T/p.err" || rc2=$?
        else
            "$BIN" parse -j "$j" "$@" >"$T/p.out" 2>"$T/p.err" || rc2=$?
        fi
        if ! cmp -s "$T/s.out" "$T/p.out" || ! cmp -s "$T/s.err" "$T/p.err" || [ "$rc1" != "$rc2" ]; then
            echo "FAIL: $name: -j $j differs from -j 1 (exit $rc1 vs $rc2)"
            fails=$((fails + 1))
        fi
    done
    if [ ! -s "$T/s.out" ]; then
        echo "FAIL: $name: no output"
        fails=$((fails + 1))
    fi
}

for fmt in json text dump; do
    if [ "$fmt" = dump ]; then set -- --dump; else set -- --format "$fmt"; fi
    same "dsn $fmt" "$@" "$SRC/tests/corpus/dsn"
    if [ -d "$SRC/../shared/corpus/sisimai" ]; then
        same "sisimai $fmt" "$@" "$SRC/../shared/corpus/sisimai"
    fi
done

mkdir -p "$T/mixed/sub"
cp "$SRC"/tests/corpus/dsn/*.eml "$T/mixed/"
cp "$SRC"/tests/corpus/dsn/bad-status.eml "$T/mixed/sub/"
ln -s /nonexistent "$T/mixed/00-dangling"
ln -s /nonexistent "$T/mixed/zz-dangling"
head -c 20000 /dev/zero | tr '\0' 'x' >"$T/mixed/big.eml"
BOUNCED_LIMITS_MESSAGE_SIZE=10000 same "errors in order" "$T/mixed" "$T/missing" "$SRC/tests/corpus/dsn"
for want in mixed/00-dangling: mixed/big.eml: mixed/zz-dangling: missing:; do
    if ! grep -q "$want" "$T/s.err"; then
        echo "FAIL: no error for $want in: $(cat "$T/s.err")"
        fails=$((fails + 1))
    fi
done

for bad in 0 -1 x 257; do
    rc=0
    "$BIN" parse -j "$bad" "$SRC/tests/corpus/dsn" >/dev/null 2>&1 || rc=$?
    if [ "$rc" -ne 2 ]; then
        echo "FAIL: -j $bad: exit $rc, expected 2"
        fails=$((fails + 1))
    fi
done

if [ "$fails" -ne 0 ]; then
    exit 1
fi
echo "parse --jobs: ok"
