#!/bin/sh
# smtp.user without systemd: `bounced serve` started as root binds a port below 1024 on
# loopback, then runs as the user with no root left (real, effective and saved uid, no
# capability), every file it made belongs to the user, and a DSN on that port is stored.
# Needs root (skips otherwise).
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "skip: starting as root is what this test is about"
    exit 77
fi
BIN=${BOUNCED_BIN:?BOUNCED_BIN not set}
SRC=${BNC_SOURCE_DIR:-$(pwd)}
T=$(mktemp -d /tmp/bnc-smtpuser-XXXXXX)
chmod 755 "$T"
mkdir "$T/var"
chown nobody "$T/var"
BPID=""
cleanup() {
    if [ -n "$BPID" ]; then
        kill -TERM "$BPID" 2>/dev/null || true
        wait "$BPID" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() {
    echo "FAIL: $*"
    tail -n 30 "$T/serve.log" 2>/dev/null || true
    exit 1
}
# a free port below 1024 on loopback (25 unless an MTA has it)
PORT=$(python3 -c 'import socket
for p in [25] + list(range(1023, 900, -1)):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()')
[ -n "$PORT" ] || fail "no free port below 1024"
NOBODY=$(id -u nobody)

BOUNCED_SMTP_USER=nobody BOUNCED_RULES_CACHE_DIR="$T/var/cache" "$BIN" --db "$T/var/b.db" \
    serve --smtp "127.0.0.1:$PORT" --http "" --spool "$T/var/spool" \
    --domains bounces.example.com >"$T/serve.out" 2>"$T/serve.log" &
BPID=$!
i=0
while ! grep -q "SMTP on 127.0.0.1:$PORT" "$T/serve.out" 2>/dev/null; do
    kill -0 "$BPID" 2>/dev/null || fail "serve did not start"
    [ $i -lt 1800 ] || fail "serve did not announce its port"
    sleep 0.1
    i=$((i + 1))
done
grep -q "event=privileges_dropped user=nobody uid=$NOBODY" "$T/serve.log" ||
    fail "no privileges_dropped line in the log"
UIDS=$(awk '/^Uid:/ { print $2, $3, $4 }' "/proc/$BPID/status")
CAPS=$(awk '/^CapEff:|^CapPrm:/ { printf "%s ", $2 }' "/proc/$BPID/status")
[ "$UIDS" = "$NOBODY $NOBODY $NOBODY" ] || fail "uids are '$UIDS', want $NOBODY x3"
[ "$CAPS" = "0000000000000000 0000000000000000 " ] || fail "capabilities left: $CAPS"
echo "ok: bound 127.0.0.1:$PORT as root, now uid $NOBODY (real, effective, saved), no capability"

python3 - "$PORT" "$SRC/examples/postfix-user-unknown.eml" <<'EOF' || fail "SMTP"
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as s:
    s.sendmail("<>", ["bounces@bounces.example.com"], open(sys.argv[2], "rb").read())
EOF
i=0
until setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$BIN" --db "$T/var/b.db" check ana.silva@mail.example >/dev/null 2>&1; [ $? -eq 1 ]; do
    [ $i -lt 120 ] || fail "the DSN did not suppress its recipient within 60 s"
    sleep 0.5
    i=$((i + 1))
done
echo "ok: a DSN on port $PORT was processed by the unprivileged daemon"
kill -TERM "$BPID"
wait "$BPID" || fail "serve exited non-zero"
BPID=""
OTHERS=$(find "$T/var" ! -user nobody -print)
[ -z "$OTHERS" ] || fail "files not owned by nobody: $OTHERS"
echo "ok: every file under the store and spool directory belongs to nobody"
echo PASS
