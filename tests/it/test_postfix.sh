#!/bin/sh
# A real MTA in front of bounced: a private Postfix instance (its own config_directory and
# queue under a temp dir; nothing system-wide is touched, no port 25) routes bounce.example
# to `bounced serve` over SMTP on loopback. We mail a nonexistent local user with the return
# path bounces@bounce.example; Postfix's local(8) bounces it, and Postfix's own DSN must end as
# a userunknown verdict in bounced's store.
# Gated: BNC_TEST_POSTFIX=1 (set by .ci/run), Postfix installed, root (postfix start needs it).
set -eu
. "$(dirname "$0")/postfix_instance.sh"
pf_gate "Postfix test"
BIN=${BOUNCED_BIN:?BOUNCED_BIN not set}
pf_init

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
pf_config ""
cat >>"$PF/main.cf" <<EOF
myhostname = postfix.test
mydomain = postfix.test
myorigin = postfix.test
mydestination = localhost, postfix.test
mynetworks = 127.0.0.0/8
transport_maps = inline:{ bounce.example=smtp:[127.0.0.1]:$PORT }
syslog_name = postfix-bnc-test
delay_warning_time = 0
EOF
pf_start
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
pf_wait_row "select recipient, kind, reason, status, hard, original_message_id from bounce_events where recipient like 'nosuchuser-bnc@%'"
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
