#!/bin/sh
# Golden cases: every tests/corpus/dsn/<case>.eml has a <case>.expect holding the output of
# `bounced parse --dump <case>.eml`; any difference fails. scripts/golden-update.sh rewrites
# the expect files (review the diff).
set -eu
bin=${1:?usage: golden.sh BOUNCED_BIN}
here=$(cd "$(dirname "$0")" && pwd)
n=0
fail=0
for eml in "$here"/dsn/*.eml; do
    [ -e "$eml" ] || continue
    exp=${eml%.eml}.expect
    n=$((n + 1))
    if [ ! -f "$exp" ]; then
        echo "golden: $(basename "$eml"): no .expect file"; fail=$((fail + 1)); continue
    fi
    if ! (cd "$here/dsn" && "$bin" parse --dump "$(basename "$eml")") | diff -u "$exp" - ; then
        echo "golden: $(basename "$eml"): FAIL"; fail=$((fail + 1))
    fi
done
echo "golden: $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
