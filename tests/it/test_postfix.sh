#!/bin/sh
# A real MTA in front of bounced: a private Postfix instance (its own config_directory and
# queue under a temp dir; nothing system-wide is touched, no port 25) routes bounce.example
# to `bounced serve` over SMTP on loopback. We mail a nonexistent local user with the return
# path bounces@bounce.example; Postfix's local(8) bounces it, and Postfix's own DSN must end as
# a userunknown verdict in bounced's store.
# Gated: BNC_TEST_POSTFIX=1 (set by .ci/run), Postfix installed, root (postfix start needs it).
set -eu

if [ "${BNC_TEST_POSTFIX:-}" != 1 ]; then
    echo "skip: set BNC_TEST_POSTFIX=1 to run the Postfix test"
    exit 77
fi
if [ ! -x /usr/sbin/postfix ] || [ ! -x /usr/sbin/sendmail ]; then
    echo "skip: Postfix is not installed (scripts/deps.sh with BNC_DEPS_OPTIONAL=1)"
    exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "skip: starting a Postfix instance needs root"
    exit 77
fi
BIN=${BOUNCED_BIN:?BOUNCED_BIN not set}

T=$(mktemp -d /tmp/bnc-postfix-XXXXXX)
chmod 755 "$T"
PF="$T/conf"
BPID=""
cleanup() {
    /usr/sbin/postfix -c "$PF" stop >/dev/null 2>&1 || true
    sleep 1
    /usr/sbin/postfix -c "$PF" abort >/dev/null 2>&1 || true
    if [ -n "$BPID" ]; then
        kill -TERM "$BPID" 2>/dev/null || true
        wait "$BPID" 2>/dev/null || true
    fi
    [ -n "${BNC_KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() {
    echo "FAIL: $*"
    echo "---- postfix log ----"
    tail -n 40 "$T/maillog" 2>/dev/null || true
    echo "---- bounced log ----"
    tail -n 40 "$T/serve.log" 2>/dev/null || true
    exit 1
}

# 1. bounced on a free loopback port
"$BIN" --db "$T/bounced.db" serve --smtp 127.0.0.1:0 --http "" --spool "$T/spool" \
    --domains bounce.example --hostname bounced.test >"$T/serve.out" 2>"$T/serve.log" &
BPID=$!
PORT=""
i=0
while [ $i -lt 1800 ]; do # 180 s: rule compilation is slow under ASan
    PORT=$(sed -n 's/.*SMTP on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/serve.out")
    [ -n "$PORT" ] && break
    kill -0 "$BPID" 2>/dev/null || fail "bounced did not start"
    sleep 0.1
    i=$((i + 1))
done
[ -n "$PORT" ] || fail "bounced did not print its port"
echo "ok: bounced listening on 127.0.0.1:$PORT"

# 2. a private Postfix: no smtpd listener, no chroot, mail for bounce.example to bounced
mkdir -p "$PF" "$T/queue" "$T/data"
chown postfix "$T/data"
sed -e 's/^smtp      inet/#smtp      inet/' \
    -e 's/^\([a-z]* *\(unix\|inet\|unix-dgram\|fifo\|pass\) *[-yn] *[-yn] *\)y/\1n/' \
    /etc/postfix/master.cf >"$PF/master.cf"
cat >"$PF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $T/queue
data_directory = $T/data
myhostname = postfix.test
mydomain = postfix.test
myorigin = postfix.test
mydestination = localhost, postfix.test
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
relayhost =
transport_maps = inline:{ bounce.example=smtp:[127.0.0.1]:$PORT }
smtp_dns_support_level = disabled
smtp_tls_security_level = none
maillog_file = $T/maillog
maillog_file_prefixes = $T
syslog_name = postfix-bnc-test
biff = no
delay_warning_time = 0
EOF
/usr/sbin/postfix -c "$PF" check >"$T/check.log" 2>&1 || fail "postfix check: $(cat "$T/check.log")"
/usr/sbin/postfix -c "$PF" start >"$T/start.log" 2>&1 || fail "postfix start: $(cat "$T/start.log")"
echo "ok: private Postfix instance started ($PF)"

# 3. mail a user that does not exist; the return path is our bounce address
MSGID="bnc-postfix-$$-$(date +%s)@sender.example"
/usr/sbin/sendmail -C "$PF" -f bounces@bounce.example nosuchuser-bnc@postfix.test <<EOF || fail "sendmail"
From: News <bounces@bounce.example>
To: nosuchuser-bnc@postfix.test
Subject: newsletter for a user that does not exist
Message-ID: <$MSGID>

Hello.
EOF
echo "ok: message injected"

# 4. Postfix bounces it to bounce.example, i.e. to bounced; wait for the verdict
q() {
    python3 -c 'import sqlite3,sys
try:
    c = sqlite3.connect(sys.argv[1], timeout=10)
    r = c.execute(sys.argv[2]).fetchall()
    print("\n".join("|".join(str(x) for x in row) for row in r))
except Exception:
    pass' "$T/bounced.db" "$1"
}
ROW=""
i=0
while [ $i -lt 120 ]; do
    ROW=$(q "select recipient, kind, reason, status, hard, original_message_id from bounce_events where recipient like 'nosuchuser-bnc@%'")
    [ -n "$ROW" ] && break
    sleep 0.5
    i=$((i + 1))
done
[ -n "$ROW" ] || fail "no verdict for Postfix's bounce within 60 s"
echo "ok: verdict stored: $ROW"
echo "$ROW" | grep -q '|hard|userunknown|5\.1\.1|1|' || fail "expected hard/userunknown/5.1.1, got: $ROW"
echo "ok: Postfix's DSN classified as hard userunknown 5.1.1"
grep -q "to=<bounces@bounce.example>, relay=127.0.0.1\[127.0.0.1\]:$PORT.*status=sent" "$T/maillog" ||
    fail "Postfix did not deliver the DSN to bounced"
echo "ok: Postfix delivered its DSN to bounced (250)"
"$BIN" --db "$T/bounced.db" check nosuchuser-bnc@postfix.test >/dev/null 2>&1 && \
    fail "the address is still sendable after its hard bounce"
echo "ok: the address is suppressed"
echo PASS
