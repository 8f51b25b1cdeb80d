# postfix_instance.sh - sourced by the tests that run a private Postfix instance in front of
# bounced (test_postfix.sh, test_postfix_recipe.sh); not a test itself.
#   pf_gate WHAT       skip (77) unless BNC_TEST_POSTFIX=1, Postfix installed, root
#   pf_init            $T (temp dir), $PF (its config_directory), $BPID, cleanup trap, fail()
#   pf_config SMTPD    $PF/master.cf (every service unchained; smtpd on SMTPD, e.g.
#                      127.0.0.1:2525, or off when empty) and the main.cf lines every test
#                      shares (queue and log under $T, loopback only, no DNS, no TLS); the
#                      caller appends its own main.cf lines
#   pf_start           postfix check and start, or fail
#   pf_query SQL       rows of bounced's store $T/bounced.db, fields joined by |
#   pf_wait_row SQL    $ROW: pf_query's answer once it is not empty, waiting up to 60 s
# Nothing system-wide is touched: the instance has its own config_directory and queue.

pf_gate() {
    if [ "${BNC_TEST_POSTFIX:-}" != 1 ]; then
        echo "skip: set BNC_TEST_POSTFIX=1 to run the $1"
        exit 77
    fi
    if [ ! -x /usr/sbin/postfix ] || [ ! -x /usr/sbin/sendmail ] || [ ! -x /usr/sbin/postmap ]; then
        echo "skip: Postfix is not installed (scripts/deps.sh with BNC_DEPS_OPTIONAL=1)"
        exit 77
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "skip: starting a Postfix instance needs root"
        exit 77
    fi
}

pf_cleanup() {
    /usr/sbin/postfix -c "$PF" stop >/dev/null 2>&1 || true
    sleep 1
    /usr/sbin/postfix -c "$PF" abort >/dev/null 2>&1 || true
    if [ -n "$BPID" ]; then
        kill -TERM "$BPID" 2>/dev/null || true
        wait "$BPID" 2>/dev/null || true
    fi
    [ -n "${BNC_KEEP_TMP:-}" ] || rm -rf "$T"
}

fail() {
    echo "FAIL: $*"
    echo "---- postfix log ----"
    tail -n 40 "$T/maillog" 2>/dev/null || true
    echo "---- bounced log ----"
    tail -n 40 "$T/serve.log" 2>/dev/null || true
    exit 1
}

pf_init() {
    T=$(mktemp -d /tmp/bnc-postfix-XXXXXX)
    chmod 755 "$T"
    PF="$T/conf"
    BPID=""
    trap pf_cleanup EXIT INT TERM
}

pf_config() {
    mkdir -p "$PF" "$T/queue" "$T/data"
    chown postfix "$T/data"
    if [ -n "$1" ]; then
        smtpd="s/^smtp      inet/$1      inet/"
    else
        smtpd='s/^smtp      inet/#smtp      inet/'
    fi
    sed -e "$smtpd" \
        -e 's/^\([a-z0-9.:]* *\(unix\|inet\|unix-dgram\|fifo\|pass\) *[-yn] *[-yn] *\)y/\1n/' \
        /etc/postfix/master.cf >"$PF/master.cf"
    cat >"$PF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $T/queue
data_directory = $T/data
inet_interfaces = loopback-only
inet_protocols = ipv4
alias_maps =
alias_database =
relayhost =
smtp_dns_support_level = disabled
smtp_tls_security_level = none
maillog_file = $T/maillog
maillog_file_prefixes = $T
biff = no
EOF
}

pf_start() {
    /usr/sbin/postfix -c "$PF" check >"$T/check.log" 2>&1 || fail "postfix check: $(cat "$T/check.log")"
    /usr/sbin/postfix -c "$PF" start >"$T/start.log" 2>&1 || fail "postfix start: $(cat "$T/start.log")"
}

pf_query() {
    python3 -c 'import sqlite3,sys
try:
    c = sqlite3.connect(sys.argv[1], timeout=10)
    r = c.execute(sys.argv[2]).fetchall()
    print("\n".join("|".join(str(x) for x in row) for row in r))
except Exception:
    pass' "$T/bounced.db" "$1"
}

pf_wait_row() {
    ROW=""
    i=0
    while [ $i -lt 120 ]; do
        ROW=$(pf_query "$1")
        [ -n "$ROW" ] && return 0
        sleep 0.5
        i=$((i + 1))
    done
}
