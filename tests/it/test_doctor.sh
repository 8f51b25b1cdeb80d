#!/bin/sh
# `bounced doctor` on a sound setup (exit 0, no FAIL line), then on each broken one: an
# unwritable spool, a store URL that does not open, a listen port another process holds, a
# rules file with a bad line. Each must exit 1 with a FAIL line for that check (and a fix:
# line after it), while the checks that are still fine say ok.
# As root the checks run as nobody (setpriv), because root may write anywhere.
set -eu
BIN=${BOUNCED_BIN:?BOUNCED_BIN not set}
T=$(mktemp -d /tmp/bnc-doctor-XXXXXX)
chmod 755 "$T"
HOLDER=""
cleanup() {
    [ -z "$HOLDER" ] || kill "$HOLDER" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
AS=""
if [ "$(id -u)" -eq 0 ]; then
    AS="setpriv --reuid=nobody --regid=nogroup --clear-groups --"
fi
fail() {
    echo "FAIL: $*"
    cat "$T/out" 2>/dev/null || true
    exit 1
}

mkdir -p "$T/spool" "$T/rules.d" "$T/cache"
# a writable store directory and spool for the service user (nobody when root)
[ -z "$AS" ] || chown nobody "$T/spool" "$T/cache" "$T"
export BOUNCED_SPOOL_DIR="$T/spool" BOUNCED_RULES_DIR="$T/rules.d" BOUNCED_RULES_CACHE_DIR="$T/cache"
export BOUNCED_STORE_URL="$T/bounced.db" BOUNCED_SMTP_LISTEN=127.0.0.1:0 BOUNCED_HTTP_LISTEN=127.0.0.1:0
export BOUNCED_SMTP_DOMAINS=bounces.example.com

# doctor ARGS... -> exit code in $rc, output in $T/out
doctor() {
    rc=0
    $AS "$BIN" doctor --offline "$@" >"$T/out" 2>&1 || rc=$?
}
expect_fail() { # CHECK
    [ "$rc" -eq 1 ] || fail "$1: doctor exited $rc, want 1"
    grep -q "^FAIL $1 " "$T/out" || fail "$1: no FAIL line for it"
    grep -A1 "^FAIL $1 " "$T/out" | grep -q "^ *fix: " || fail "$1: no fix: line after the FAIL"
    [ "$(grep -c '^FAIL' "$T/out")" -eq 1 ] || fail "$1: other checks fail too"
    echo "ok: $(grep "^FAIL $1 " "$T/out" | head -1)"
}

doctor
[ "$rc" -eq 0 ] || fail "a sound setup: doctor exited $rc"
grep -q '^FAIL' "$T/out" && fail "a sound setup has FAIL lines"
for c in store spool rules smtp.listen http.listen; do
    grep -q "^ok   $c " "$T/out" || fail "sound setup: no ok line for $c"
done
echo "ok: a sound setup passes (exit 0)"

# 1. unwritable spool: a directory of its own that the service user may not write
mkdir -p "$T/ro-spool/new"
chmod 0555 "$T/ro-spool" "$T/ro-spool/new"
if [ -z "$AS" ] && touch "$T/ro-spool/new/probe" 2>/dev/null; then
    echo "skip part: this user writes through mode 0555"
else
    BOUNCED_SPOOL_DIR="$T/ro-spool" doctor
    expect_fail spool
fi

# 2. a store URL that does not open: a PostgreSQL port nobody listens on
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BOUNCED_STORE_URL="postgresql://bounced@127.0.0.1:$PORT/bounced?connect_timeout=3" doctor
expect_fail store
BOUNCED_STORE_URL="$T/no/such/dir/bounced.db" doctor
expect_fail store

# 3. the SMTP port in use by another process
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1], "w").write(str(s.getsockname()[1])); time.sleep(60)' "$T/port" &
HOLDER=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
BOUNCED_SMTP_LISTEN="127.0.0.1:$(cat "$T/port")" doctor
expect_fail smtp.listen
grep -q "Address already in use" "$T/out" || fail "port in use: the reason is not given"
kill "$HOLDER"
HOLDER=""

# 4. a rules file with a line that does not load
printf 'user unknown ==> hard:userunknown\nthis line has no verdict\n' >"$T/rules.d/site.rules"
doctor
expect_fail rules
grep -q "site.rules:2" "$T/out" || fail "bad rules: the file and line are not named"
rm "$T/rules.d/site.rules"

echo PASS
