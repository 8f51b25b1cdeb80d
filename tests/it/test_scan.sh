#!/bin/sh
# Mailbox scanning: `bounced scan maildir:DIR` and `bounced scan mbox:FILE` process every
# message once, mark Maildir messages only after their commit (moved to cur/ with the S flag),
# keep the mbox offset (a second pass reads nothing new), record a reply that is not a bounce
# without penalising anyone; and `bounced serve` scans the [mailbox] source periodically.
set -eu
BIN=${BOUNCED_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "skip: BOUNCED_BIN not set"
    exit 77
fi
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/bnc-scan-XXXXXX)
SPID=""
cleanup() {
    if [ -n "$SPID" ]; then
        kill -TERM "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
    fi
    [ -n "${BNC_KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() {
    echo "FAIL: $*"
    exit 1
}
ok() {
    echo "ok: $*"
}
q() {
    python3 -c 'import sqlite3,sys
c = sqlite3.connect(sys.argv[1], timeout=10)
print("\n".join("|".join(str(x) for x in r) for r in c.execute(sys.argv[2]).fetchall()))' "$1" "$2"
}
# write DSN number $2 for recipient $1 (LF line endings, as mail stores keep them)
dsn() {
    python3 -c 'import sys; sys.path.insert(0, sys.argv[3])
from smtp_harness import make_dsn
sys.stdout.write(make_dsn(sys.argv[1], int(sys.argv[2])).replace("\r\n", "\n"))' "$1" "$2" "$HERE"
}
reply() {
    printf 'From: Human <human%s@dest.example>\nTo: bounces@bounce.example\nSubject: Re: news\nMessage-ID: <reply-%s@dest.example>\n\nThanks, but please stop.\n' "$1" "$1"
}

# ---- Maildir ----
MD="$T/Maildir"
mkdir -p "$MD/new" "$MD/cur" "$MD/tmp"
dsn md1@dest.example 1 >"$MD/new/1700000001.M1P1.host"
dsn md2@dest.example 2 >"$MD/new/1700000002.M2P2.host"
dsn md3@dest.example 3 >"$MD/cur/1700000003.M3P3.host:2,F"  # not seen yet, flagged
dsn md4@dest.example 4 >"$MD/cur/1700000004.M4P4.host:2,S"  # already seen: skipped
reply 1 >"$MD/new/1700000005.M5P5.host"
DB="$T/scan.db"
"$BIN" --db "$DB" scan --quiet "maildir:$MD" || fail "scan maildir exit $?"
[ "$(ls "$MD/new" | wc -l)" -eq 0 ] || fail "Maildir new/ not emptied"
[ -e "$MD/cur/1700000001.M1P1.host:2,S" ] || fail "md1 not marked seen: $(ls "$MD/cur")"
[ -e "$MD/cur/1700000003.M3P3.host:2,FS" ] || fail "md3 flags not kept: $(ls "$MD/cur")"
ok "Maildir messages moved to cur/ with the S flag after their commit"
N=$(q "$DB" "select count(*) from bounce_events where recipient like 'md%@dest.example'")
[ "$N" -eq 3 ] || fail "expected 3 verdicts, got $N"
ok "3 verdicts (the already-seen message skipped)"
NB=$(q "$DB" "select count(*) from ingested where source='mailbox' and not_bounce=1")
[ "$NB" -eq 1 ] || fail "the reply was not recorded as not a bounce ($NB)"
H=$(q "$DB" "select count(*) from contacts where email='human1@dest.example' and hygiene_status!='ACTIVE'")
[ "$H" -eq 0 ] || fail "a reply penalised its sender"
ok "a reply is recorded as not a bounce and penalises no one"
# a second pass finds nothing; a message put back unseen is a duplicate, not a new event
mv "$MD/cur/1700000001.M1P1.host:2,S" "$MD/new/1700000001.M1P1.host"
"$BIN" --db "$DB" scan --quiet "maildir:$MD" || fail "second maildir pass"
N=$(q "$DB" "select count(*) from bounce_events where recipient like 'md%@dest.example'")
[ "$N" -eq 3 ] || fail "second pass changed the count: $N"
[ -e "$MD/cur/1700000001.M1P1.host:2,S" ] || fail "re-marked"
ok "second pass: duplicates skipped, still 3 verdicts"

# ---- mbox ----
MB="$T/bounces.mbox"
: >"$MB"
for i in 1 2 3; do
    printf 'From MAILER-DAEMON Mon Nov 23 01:00:0%s 2026\n' "$i" >>"$MB"
    dsn "mb$i@dest.example" "$((100 + i))" >>"$MB"
    printf '\n' >>"$MB"
done
"$BIN" --db "$DB" scan --quiet "mbox:$MB" || fail "scan mbox exit $?"
N=$(q "$DB" "select count(*) from bounce_events where recipient like 'mb%@dest.example'")
[ "$N" -eq 3 ] || fail "mbox: expected 3 verdicts, got $N"
ok "mbox: 3 messages, 3 verdicts"
OFF=$(q "$DB" "select position from ingest_offsets where source like 'mbox:%'" 2>/dev/null || true)
[ -n "$OFF" ] && ok "mbox offset saved ($OFF)"
# append one more: only the new one is read
printf 'From MAILER-DAEMON Mon Nov 23 01:00:04 2026\n' >>"$MB"
dsn "mb4@dest.example" 104 >>"$MB"
OUT=$("$BIN" --db "$DB" scan "mbox:$MB" 2>&1) || fail "scan mbox again"
echo "$OUT" | grep -q "1 messages" || fail "second mbox pass should see only the new message: $OUT"
N=$(q "$DB" "select count(*) from bounce_events where recipient like 'mb%@dest.example'")
[ "$N" -eq 4 ] || fail "mbox: expected 4 verdicts, got $N"
ok "mbox: a second pass reads only what was appended"

# ---- serve scans the [mailbox] source periodically ----
MD2="$T/Maildir2"
mkdir -p "$MD2/new" "$MD2/cur" "$MD2/tmp"
dsn sv1@dest.example 201 >"$MD2/new/1700000101.M1P1.host"
BOUNCED_MAILBOX_SOURCE="maildir:$MD2" BOUNCED_MAILBOX_INTERVAL=1s \
    "$BIN" --db "$T/serve.db" serve --smtp 127.0.0.1:0 --http "" --spool "$T/spool" \
    >"$T/serve.out" 2>"$T/serve.log" &
SPID=$!
i=0
while [ $i -lt 600 ]; do
    [ -e "$MD2/cur/1700000101.M1P1.host:2,S" ] && break
    kill -0 "$SPID" 2>/dev/null || fail "serve died: $(tail -5 "$T/serve.log")"
    sleep 0.2
    i=$((i + 1))
done
[ -e "$MD2/cur/1700000101.M1P1.host:2,S" ] || fail "serve did not scan the Maildir"
# Maildir delivery: write in tmp/, then rename into new/
dsn sv2@dest.example 202 >"$MD2/tmp/1700000102.M2P2.host"
mv "$MD2/tmp/1700000102.M2P2.host" "$MD2/new/1700000102.M2P2.host"
i=0
while [ $i -lt 100 ]; do
    [ -e "$MD2/cur/1700000102.M2P2.host:2,S" ] && break
    sleep 0.2
    i=$((i + 1))
done
[ -e "$MD2/cur/1700000102.M2P2.host:2,S" ] || fail "serve did not scan again"
kill -TERM "$SPID"
wait "$SPID" || fail "serve exit status $?"
SPID=""
N=$(q "$T/serve.db" "select count(*) from bounce_events where recipient like 'sv%@dest.example'")
[ "$N" -eq 2 ] || fail "serve scan: expected 2 verdicts, got $N"
ok "serve scans mailbox.source every mailbox.interval"
echo PASS
