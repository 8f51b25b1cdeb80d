#!/bin/sh
# test_hygiene_scenario.sh - the "Must show" scenario of issue 5, end to end through the CLI,
# identical on SQLite and PostgreSQL.
#
#   test_hygiene_scenario.sh [sqlite|pg]      (default sqlite; BNC_BACKEND works too)
#
# The PostgreSQL leg takes its server URL from $BNC_PG_URL, else from the file named by
# $BNC_PG_URL_FILE (the CTest `pg` fixture, scripts/pg-test.sh), creates a database of its
# own and drops it at the end. Without a server it exits 77 (skipped), except under CI=true
# where the PostgreSQL leg must run, so it fails.
# Every bounce is a small RFC 3464 DSN written here, with its Arrival-Date on a chosen day;
# the clock is fixed with BOUNCED_NOW so strikes, decay and audit times are deterministic.
set -u

backend=${1:-${BNC_BACKEND:-sqlite}}
BIN=${BOUNCED_BIN:-build/dev/bounced}
[ -x "$BIN" ] || { echo "no bounced binary at $BIN" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hygiene_scenario.XXXXXX")
pgdb=""
pgadmin=""
cleanup() {
    if [ -n "$pgdb" ]; then
        psql -q "$pgadmin" -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

case $backend in
sqlite)
    DB=$tmp/scenario.db
    ;;
pg)
    url=${BNC_PG_URL:-}
    if [ -z "$url" ] && [ -n "${BNC_PG_URL_FILE:-}" ] && [ -s "${BNC_PG_URL_FILE}" ]; then
        url=$(cat "$BNC_PG_URL_FILE")
    fi
    if [ -z "$url" ] || ! command -v psql >/dev/null || ! psql -q "$url" -c 'SELECT 1' >/dev/null 2>&1; then
        if [ "${CI:-}" = true ]; then
            echo "FAIL: the PostgreSQL leg must run under CI, but no server is reachable" >&2
            exit 1
        fi
        echo "SKIP: no PostgreSQL server (set BNC_PG_URL or run through the ctest pg fixture)"
        exit 77
    fi
    pgadmin=$url
    pgdb="hyg_scn_$$_$(date +%s)"
    psql -q "$pgadmin" -c "CREATE DATABASE $pgdb" >/dev/null || { echo "cannot create database" >&2; exit 1; }
    # same server, our database: replace the path of the URL
    DB=$(printf '%s\n' "$url" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$pgdb#")
    ;;
*)
    echo "usage: $0 [sqlite|pg]" >&2
    exit 2
    ;;
esac

fails=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

# the clock: day N of the scenario at 12:00 UTC (day 1 = 2026-10-01)
at() { python3 -c "import sys; print(1790812800 + (int(sys.argv[1]) - 1) * 86400 + 12 * 3600)" "$1"; }
rfcdate() { python3 -c "import sys,email.utils; print(email.utils.formatdate(int(sys.argv[1]), usegmt=True))" "$1"; }

# b DAY [--now TIME] ARGS...: run bounced on our store with the clock at day DAY
b() {
    day=$1
    shift
    BOUNCED_NOW=$(at "$day") "$BIN" --db "$DB" "$@"
}

# dsn FILE RCPT STATUS DIAG DAY HOUR ID: write a one-recipient RFC 3464 DSN
dsn() {
    t=$(( $(at "$5") - 12 * 3600 + $6 * 3600 ))
    d=$(rfcdate "$t")
    cat >"$1" <<EOF
From: MAILER-DAEMON@mx.example.net
To: bounces@sender.example
Subject: Delivery Status Notification (Failure)
Date: $d
Message-ID: <dsn-$7@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BB"

--BB
Content-Type: text/plain

Delivery to the following recipient failed.

--BB
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: $d

Final-Recipient: rfc822; $2
Action: failed
Status: $3
Diagnostic-Code: smtp; $4
Last-Attempt-Date: $d

--BB
Content-Type: text/rfc822-headers

From: news@sender.example
To: $2
Subject: Newsletter
Message-ID: <$7@sender.example>

--BB--
EOF
}

# field ADDRESS KEY [DAY]: one field of `contacts show` (lists joined by ','; attributes.K)
field() {
    b "${3:-1}" contacts show "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
k = sys.argv[1]
if k == "lists":
    print(",".join(d["lists"]))
elif k.startswith("attributes."):
    print(d["attributes"].get(k[11:], ""))
else:
    print(d[k])' "$2"
}

expect() { # expect WHAT GOT WANT
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

expect_exit() { # expect_exit WHAT WANT CMD...
    what=$1
    want=$2
    shift 2
    "$@" >/dev/null 2>&1
    got=$?
    if [ "$got" = "$want" ]; then pass "$what"; else fail "$what: exit $got, want $want"; fi
}

echo "# hygiene scenario on $backend"
mkdir -p "$tmp/in"
all=$tmp/in

# ---- import a, b, c on list news; plan=gold on a -----------------------------------------
printf 'email,name,plan\r\na@news.example,Ann,free\r\n"b@news.example","Bob, Jr.",free\r\nc@news.example,Cy,free\r\n' >"$tmp/abc.csv"
printf 'email,name\nd@news.example,Di\ne@news.example,Ed\nr@news.example,Ro\n' >"$tmp/more.csv"
b 1 contacts import "$tmp/abc.csv" --list news >/dev/null || fail "import a, b, c"
b 1 contacts import "$tmp/more.csv" --list news >/dev/null || fail "import d, e, r"
expect "b's quoted name survives RFC 4180 quoting" "$(field b@news.example attributes.name)" "Bob, Jr."
expect "a is on news after the import" "$(field a@news.example lists)" "news"
b 1 contacts set a@news.example plan=gold >/dev/null || fail "contacts set a plan=gold"
expect "a's plan is gold" "$(field a@news.example attributes.plan)" "gold"

# ---- a: hard bounce (userunknown) ---------------------------------------------------------
dsn "$all/01-a-hard.eml" a@news.example 5.1.1 "550 5.1.1 <a@news.example>: Recipient address rejected: User unknown" 2 9 a1
b 2 process "$all/01-a-hard.eml" >/dev/null || fail "process a's hard bounce"
expect "a is BOUNCED_HARD" "$(field a@news.example hygiene_status 2)" "BOUNCED_HARD"
expect "a is suppressed" "$(field a@news.example suppressed 2)" "True"
expect "a is unsubscribed from news" "$(field a@news.example lists 2)" ""
expect_exit "check a exits 1" 1 b 2 check a@news.example
expect "a's plan survives the hard bounce" "$(field a@news.example attributes.plan 2)" "gold"

# ---- b: mailboxfull on 4 different days ---------------------------------------------------
for i in 1 2 3 4; do
    dsn "$all/02-b-soft-$i.eml" b@news.example 5.2.2 "552 5.2.2 Mailbox full: quota exceeded" $((2 + i)) 10 b$i
done
for i in 1 2 3; do
    b $((2 + i)) process "$all/02-b-soft-$i.eml" >/dev/null || fail "process b's soft bounce $i"
done
expect "b is SOFT_BOUNCING after the third" "$(field b@news.example hygiene_status 5)" "SOFT_BOUNCING"
expect "b's count is 3 after the third" "$(field b@news.example soft_bounce_count 5)" "3"
expect_exit "check b exits 0 while soft bouncing" 0 b 5 check b@news.example
b 6 process "$all/02-b-soft-4.eml" >/dev/null || fail "process b's soft bounce 4"
expect "b is BOUNCED_HARD after the fourth" "$(field b@news.example hygiene_status 6)" "BOUNCED_HARD"
expect "b keeps the reason mailboxfull" "$(field b@news.example last_reason 6)" "mailboxfull"
expect_exit "check b exits 1 after the fourth" 1 b 6 check b@news.example
expect "b is unsubscribed" "$(field b@news.example lists 6)" ""

# ---- d: 2 soft bounces, then 31 quiet days ------------------------------------------------
dsn "$all/03-d-soft-1.eml" d@news.example 4.2.2 "452 4.2.2 Mailbox full" 10 8 d1
dsn "$all/03-d-soft-2.eml" d@news.example 4.2.2 "452 4.2.2 Mailbox full" 11 8 d2
b 10 process "$all/03-d-soft-1.eml" >/dev/null
b 11 process "$all/03-d-soft-2.eml" >/dev/null
expect "d has 2 strikes" "$(field d@news.example soft_bounce_count 11)" "2"
expect "d is still SOFT_BOUNCING after 30 quiet days" "$(field d@news.example hygiene_status 41)" "SOFT_BOUNCING"
expect "d is ACTIVE after 31 quiet days (lazy decay)" "$(field d@news.example hygiene_status 42)" "ACTIVE"
expect "d's count is 0 after 31 quiet days" "$(field d@news.example soft_bounce_count 42)" "0"
b 42 sweep >/dev/null || fail "sweep"
expect "the sweep persisted d's decay" "$(field d@news.example soft_bounce_count 12)" "0"

# ---- c: 5xx blocked (sender side) ---------------------------------------------------------
dsn "$all/04-c-blocked.eml" c@news.example 5.7.1 "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org" 12 9 c1
b 12 process "$all/04-c-blocked.eml" >/dev/null
expect "c stays ACTIVE after a blocked bounce" "$(field c@news.example hygiene_status 12)" "ACTIVE"
expect "c's count stays 0" "$(field c@news.example soft_bounce_count 12)" "0"
expect "c stays on news" "$(field c@news.example lists 12)" "news"
expect_exit "check c exits 0" 0 b 12 check c@news.example
blocked=$(b 12 stats | awk '/^events by reason:/{f=1;next} /^[a-z]/{f=0} f && $1=="blocked"{print $2}')
expect "the blocked bounce is recorded as an event" "$blocked" "1"

# ---- r: a bounce nothing can classify -----------------------------------------------------
dsn "$all/05-r-unknown.eml" r@news.example 5.0.0 "550 xyzzy plugh" 13 9 r1
out=$(b 13 process "$all/05-r-unknown.eml")
expect "the unknown bounce makes one review item" "$(printf '%s\n' "$out" | sed -n 's/^new review items: //p')" "1"
expect "r is unchanged (ACTIVE)" "$(field r@news.example hygiene_status 13)" "ACTIVE"
expect "r is still on news" "$(field r@news.example lists 13)" "news"
rid=$(b 13 review list 2>/dev/null | awk -F '\t' '$5=="r@news.example" && $2=="open"{print $1}')
[ -n "$rid" ] || fail "review list shows r's item"
b 14 review resolve "$rid" hard >/dev/null || fail "review resolve $rid hard"
expect "resolving as hard makes r BOUNCED_HARD" "$(field r@news.example hygiene_status 14)" "BOUNCED_HARD"
expect "resolving as hard suppresses r" "$(field r@news.example suppressed 14)" "True"
expect "resolving as hard unsubscribes r" "$(field r@news.example lists 14)" ""
expect_exit "the item cannot be resolved twice" 1 b 14 review resolve "$rid" soft

# ---- e: five soft bounces on the same day -------------------------------------------------
for i in 1 2 3 4 5; do
    dsn "$all/06-e-same-day-$i.eml" e@news.example 4.2.2 "452 4.2.2 Mailbox full" 15 $((8 + i)) e$i
done
b 15 process "$all"/06-e-same-day-*.eml >/dev/null
expect "five soft bounces the same day are one strike" "$(field e@news.example soft_bounce_count 15)" "1"
expect "e is SOFT_BOUNCING" "$(field e@news.example hygiene_status 15)" "SOFT_BOUNCING"

# ---- audit revert of a's hard bounce ------------------------------------------------------
aid=$(b 16 audit list a@news.example | awk -F '\t' '$5=="bounce"{print $1; exit}')
[ -n "$aid" ] || fail "audit list shows a's hard bounce"
b 16 audit revert "$aid" >/dev/null || fail "audit revert $aid"
expect_exit "after the revert check a exits 0" 0 b 16 check a@news.example
expect "after the revert a is back on news" "$(field a@news.example lists 16)" "news"
expect "after the revert a is ACTIVE" "$(field a@news.example hygiene_status 16)" "ACTIVE"
expect_exit "a revert cannot be reverted twice" 1 b 16 audit revert "$aid"
expect "the revert is itself audited" "$(b 16 audit list a@news.example | awk -F '\t' '$5=="revert"' | wc -l | tr -d ' ')" "1"

# ---- the same directory twice changes no count --------------------------------------------
b 17 process "$all" >"$tmp/p1.txt"
b 17 stats >"$tmp/s1.txt"
b 17 contacts export >"$tmp/e1.csv"
b 17 process "$all" >"$tmp/p2.txt"
b 17 stats >"$tmp/s2.txt"
b 17 contacts export >"$tmp/e2.csv"
nfiles=$(ls "$all" | wc -l | tr -d ' ')
expect "the second pass sees only duplicates" "$(sed -n 's/^messages: [0-9]* (new \([0-9]*\), duplicates \([0-9]*\).*/\1 \2/p' "$tmp/p2.txt")" "0 $nfiles"
expect "the first pass of the whole directory was all duplicates too" "$(sed -n 's/^messages: [0-9]* (new \([0-9]*\),.*/\1/p' "$tmp/p1.txt")" "0"
if cmp -s "$tmp/s1.txt" "$tmp/s2.txt"; then pass "stats unchanged by the second pass"; else fail "stats changed by the second pass"; fi
if cmp -s "$tmp/e1.csv" "$tmp/e2.csv"; then pass "contacts unchanged by the second pass"; else fail "contacts changed by the second pass"; fi
expect "a is still sendable (the reverted bounce was not re-applied)" "$(field a@news.example hygiene_status 17)" "ACTIVE"
# the same bytes under another name are the same message
cp "$all/01-a-hard.eml" "$tmp/copy.eml"
out=$(b 17 process "$tmp/copy.eml")
expect "a copy of a processed message is a duplicate" "$(printf '%s\n' "$out" | sed -n 's/^messages: [0-9]* (new \([0-9]*\), duplicates \([0-9]*\).*/\1 \2/p')" "0 1"

# ---- attributes survive every bounce ------------------------------------------------------
expect "a's plan is still gold" "$(field a@news.example attributes.plan 17)" "gold"
expect "b's attributes are untouched" "$(field b@news.example attributes.plan 17)" "free"

# ---- an address change reactivates; unsuppress reactivates; no-contact suppression ---------
b 18 contacts set b@news.example email=b2@news.example >/dev/null || fail "contacts set b email=b2"
expect "a new address returns b to ACTIVE" "$(field b2@news.example hygiene_status 18)" "ACTIVE"
b 18 unsuppress r@news.example --reason "confirmed by phone" >/dev/null || fail "unsuppress r"
expect "unsuppress returns r to ACTIVE" "$(field r@news.example hygiene_status 18)" "ACTIVE"
expect_exit "check r exits 0 after unsuppress" 0 b 18 check r@news.example
b 18 suppress stranger@elsewhere.example --reason legal >/dev/null || fail "suppress a non-contact"
expect_exit "a non-contact can be suppressed" 1 b 18 check stranger@elsewhere.example
expect_exit "contacts show of a non-contact exits 1" 1 b 18 contacts show stranger@elsewhere.example

echo "# $backend: $fails failure(s)"
[ "$fails" -eq 0 ]
