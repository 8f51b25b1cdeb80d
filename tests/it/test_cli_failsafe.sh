#!/bin/sh
# The CLI is fail-safe (issue 16, item 6): read-only commands (check, stats, review list,
# contacts show/export, audit list) on a store that does not exist (a mistyped --db) exit
# non-zero with a clear message and create nothing; before, they created an empty database
# and `check` answered "sendable".
set -eu
B=${BOUNCED_BIN:?}
T=$(mktemp -d /tmp/bnc-failsafe.XXXXXX)
trap 'rm -rf "$T"' EXIT
db="$T/typo/bounced.db"
fail=0
for cmd in "check a@dest.example" "stats" "review list" "contacts show a@dest.example" \
    "contacts export" "audit list"; do
    # shellcheck disable=SC2086
    if "$B" --db "$db" $cmd >"$T/out" 2>"$T/err"; then
        echo "FAIL: '$cmd' on a missing store exited 0"
        fail=1
    elif ! grep -q "does not exist" "$T/err"; then
        echo "FAIL: '$cmd' does not say why: $(cat "$T/err")"
        fail=1
    else
        echo "ok: '$cmd' refuses a missing store"
    fi
    if [ -e "$db" ] || [ -e "$T/typo" ]; then
        echo "FAIL: '$cmd' created $db"
        fail=1
        rm -rf "$T/typo"
    fi
done
# a store that exists still works, and a writing command still creates one
"$B" --db "$T/real.db" suppress gone@dest.example >/dev/null
if "$B" --db "$T/real.db" check gone@dest.example >/dev/null; then
    echo "FAIL: check on the real store says sendable"
    fail=1
else
    echo "ok: check on an existing store works"
fi
[ $fail -eq 0 ] && echo PASS
exit $fail
