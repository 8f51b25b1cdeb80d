#!/bin/sh
# The Postfix recipe of docs/deploy.md, applied as written: a private Postfix instance (its
# own config_directory and queue under a temp dir, its smtpd on a free loopback port, nothing
# system-wide touched) gets the two recipe blocks (main.cf lines, transport map) with only
# the paths moved into the temp dir. A remote MTA (a client outside mynetworks) then hands
# Postfix a DSN for the return-path domain; the relay_domains line must let it in, the
# transport map must send it over LMTP (unix socket) to `bounced serve`, and the verdict must
# reach bounced's store. A recipient of another domain must still be refused (no open relay).
# Gated like test_postfix.sh: BNC_TEST_POSTFIX=1 (set by .ci/run), Postfix installed, root.
set -eu
. "$(dirname "$0")/postfix_instance.sh"
pf_gate "Postfix recipe test"
BIN=${BOUNCED_BIN:?BOUNCED_BIN not set}
SRC=${BNC_SOURCE_DIR:-$(pwd)}
DOC="$SRC/docs/deploy.md"
DOMAIN=bounces.example.com
RCPT="bounces+ana.silva=mail.example@$DOMAIN"

pf_init

# The fenced block after "<!-- recipe: NAME -->" in docs/deploy.md, as the reader copies it.
recipe() {
    awk -v want="<!-- recipe: $1 -->" '
        $0 == want { found = 1; next }
        found == 1 && /^```/ { found = 2; next }
        found == 2 && /^```/ { exit }
        found == 2 { print }
    ' "$DOC"
}
MAINCF=$(recipe postfix/main.cf)
TRANSPORT=$(recipe postfix/transport)
[ -n "$MAINCF" ] || fail "no postfix/main.cf recipe block in docs/deploy.md"
[ -n "$TRANSPORT" ] || fail "no postfix/transport recipe block in docs/deploy.md"
echo "$MAINCF" | grep -q "^relay_domains = $DOMAIN" || fail "the main.cf recipe has no relay_domains"
echo "ok: recipe blocks read from docs/deploy.md"

# 1. bounced as the recipe's section 4 configures it: LMTP on a unix socket, no SMTP
"$BIN" --db "$T/bounced.db" serve --smtp "" --lmtp "unix:$T/lmtp.sock" --http "" \
    --spool "$T/spool" --domains "$DOMAIN" --hostname bounced.test \
    >"$T/serve.out" 2>"$T/serve.log" &
BPID=$!
i=0
while ! grep -q "LMTP on unix:$T/lmtp.sock" "$T/serve.out" 2>/dev/null; do
    kill -0 "$BPID" 2>/dev/null || fail "bounced did not start"
    [ $i -lt 1800 ] || fail "bounced did not announce its LMTP socket" # 180 s under ASan
    sleep 0.1
    i=$((i + 1))
done
echo "ok: bounced takes LMTP on unix:$T/lmtp.sock"

# 2. a private Postfix whose smtpd listens on a free loopback port; the client (127.0.0.1)
#    is not in mynetworks, so only relay_domains can make Postfix accept the DSN
PFPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pf_config "127.0.0.1:$PFPORT"
cat >>"$PF/main.cf" <<EOF
myhostname = mx.postfix.test
mydomain = postfix.test
myorigin = postfix.test
mydestination = localhost
mynetworks = 192.0.2.1/32
smtpd_tls_security_level = none
syslog_name = postfix-bnc-recipe
EOF
# the recipe, paths moved into the instance
echo "$MAINCF" | sed -e "s|/etc/postfix/|$PF/|g" >>"$PF/main.cf"
echo "$TRANSPORT" | sed -e "s|/run/bounced/lmtp.sock|$T/lmtp.sock|g" >"$PF/transport"
/usr/sbin/postmap -c "$PF" "$PF/transport" || fail "postmap of the recipe's transport file"
pf_start
echo "ok: private Postfix with the recipe, smtpd on 127.0.0.1:$PFPORT"

# 3. a remote MTA delivers a DSN to Postfix; then tries a domain the recipe does not relay
python3 - "$PFPORT" "$RCPT" "$SRC/examples/postfix-user-unknown.eml" <<'EOF' || fail "SMTP to Postfix"
import smtplib, sys, time
port, rcpt, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
msg = open(path, "rb").read()
for attempt in range(50):  # smtpd may take a moment after "postfix start"
    try:
        s = smtplib.SMTP("127.0.0.1", port, local_hostname="mx.remote.test", timeout=30)
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("no smtpd on port %d" % port)
s.sendmail("<>", [rcpt], msg)
print("ok: Postfix accepted the DSN for %s" % rcpt)
code, text = s.docmd("MAIL FROM:<>")
code, text = s.docmd("RCPT TO:<someone@elsewhere.test>")
s.quit()
if code < 400:
    sys.exit("Postfix relays to elsewhere.test (%d %s): an open relay" % (code, text))
print("ok: a recipient outside the relay domain is refused (%d)" % code)
EOF

# 4. the verdict in bounced's store, delivered by Postfix's lmtp client
pf_wait_row "select recipient, kind, reason, status from bounce_events"
[ -n "$ROW" ] || fail "no verdict in bounced's store within 60 s"
echo "$ROW" | grep -q '^ana.silva@mail.example|hard|userunknown|5\.1\.1$' ||
    fail "expected ana.silva@mail.example hard/userunknown/5.1.1, got: $ROW"
grep -q "lmtp.*to=<$RCPT>, relay=[^ ]*\[$T/lmtp.sock\].*status=sent" "$T/maillog" ||
    fail "Postfix's log does not show the LMTP delivery to bounced"
echo "ok: Postfix relayed it over LMTP to bounced: $ROW"
echo PASS
