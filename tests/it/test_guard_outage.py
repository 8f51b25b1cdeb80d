#!/usr/bin/env python3
"""The outage guard's scenario (docs/guards.md), through the CLI with a fixed clock: a quiet
baseline at bigmail.example (2 hard bounces a day for a week), then 2,000 hard bounces there
within 10 minutes (a PowerMTA accounting file, `bounced ingest pmta`). Nobody is suppressed
(not even the first ones, before the burst was recognised), every imported contact stays
ACTIVE and subscribed, one outage is open and exactly one alert raised; the same burst at
a second run changes nothing (dedupe). Then, each on its own copy of the store:
  release  - `outage release`: everything released, nobody suppressed, decided once only;
  apply    - `outage apply`: all 2,000 suppressed and unsubscribed, audited;
  settle   - the domain recovers, 10 of the held addresses fail hard again, and a day later
             the evaluation applies those 10 and releases the other 1,990;
  max_hold - the burst goes on for 3 days: no outage but a domain that is gone; applied.
Sender-side refusals at one domain (blocked, 5.7.1) raise a reputation alert and penalise
nobody. Runs on SQLite, or on PostgreSQL with BNC_BACKEND=pg (the server URL from
$BNC_PG_URL or the file $BNC_PG_URL_FILE names, the ctest pg fixture; each store is a
database of its own, the copies made with CREATE DATABASE ... TEMPLATE); exit 77 when the
binary is missing a command or, outside CI, there is no PostgreSQL server."""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("BOUNCED_BIN", "build/dev/bounced")
DAY1 = 1790812800  # 2026-10-01T00:00:00Z
BURST = DAY1 + 12 * 3600
HDR = "type,timeLogged,rcpt,dsnStatus,dsnDiag,dsnMta,bounceCat\n"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def ts(t):
    return time.strftime("%Y-%m-%d %H:%M:%S+0000", time.gmtime(t))


def hard_row(addr, t):
    return ("b,%s,%s,5.1.1 (bad destination mailbox address),smtp;550 5.1.1 <%s>: user "
            "unknown,mx.bigmail.example,bad-mailbox\n" % (ts(t), addr, addr))


def write(path, rows):
    with open(path, "w") as f:
        f.write(HDR + "".join(rows))


def b(db, now, *args):
    env = dict(os.environ)
    env["BOUNCED_NOW"] = str(now)
    env["BOUNCED_ALERTS_SYSLOG"] = "no"
    return subprocess.run([BIN, "--db", db] + list(args), capture_output=True, text=True,
                          env=env, timeout=300)


BACKEND = os.environ.get("BNC_BACKEND", "sqlite")
PG_ADMIN = None
PG_DBS = []


def pg_url_of(name):
    return re.sub(r"^(postgres(ql)?://[^/?]*)(/[^?]*)?", r"\1/" + name, PG_ADMIN)


def pg_setup():
    global PG_ADMIN
    url = os.environ.get("BNC_PG_URL", "")
    f = os.environ.get("BNC_PG_URL_FILE", "")
    if not url and f and os.path.exists(f):
        url = open(f).read().strip()
    ok = url and shutil.which("psql") and subprocess.run(
        ["psql", "-q", url, "-c", "SELECT 1"], capture_output=True).returncode == 0
    if not ok:
        if os.environ.get("CI") == "true":
            print("FAIL: the PostgreSQL leg must run under CI, but no server is reachable")
            sys.exit(1)
        print("SKIP: no PostgreSQL server")
        sys.exit(77)
    PG_ADMIN = url


def store_new(tmp, name):
    """A new, empty store: a SQLite path or a PostgreSQL database URL."""
    if BACKEND != "pg":
        return os.path.join(tmp, name + ".db")
    dbname = "guard_%s_%d" % (name, os.getpid())
    subprocess.run(["psql", "-q", PG_ADMIN, "-c", "CREATE DATABASE " + dbname], check=True,
                   capture_output=True)
    PG_DBS.append(dbname)
    return pg_url_of(dbname)


def store_copy(tmp, src, name):
    if BACKEND != "pg":
        dst = os.path.join(tmp, name + ".db")
        shutil.copy(src, dst)
        return dst
    dbname = "guard_%s_%d" % (name, os.getpid())
    srcname = src.rsplit("/", 1)[1].split("?")[0]
    subprocess.run(["psql", "-q", PG_ADMIN, "-c", "CREATE DATABASE %s TEMPLATE %s" %
                    (dbname, srcname)], check=True, capture_output=True)
    PG_DBS.append(dbname)
    return pg_url_of(dbname)


def q(db, sql):
    if BACKEND == "pg":
        r = subprocess.run(["psql", "-At", "-F", "\t", db, "-c", sql], capture_output=True,
                           text=True, check=True)
        return [tuple(int(x) if re.fullmatch(r"-?\d+", x) else x for x in line.split("\t"))
                for line in r.stdout.splitlines()]
    c = sqlite3.connect(db)
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()


def one(db, sql):
    return q(db, sql)[0][0]


def setup(tmp):
    db = store_new(tmp, "base")
    with open(os.path.join(tmp, "contacts.csv"), "w") as f:
        f.write("email,name\n" + "".join("user%d@bigmail.example,U%d\n" % (i, i)
                                         for i in range(0, 2000, 10)))
    r = b(db, DAY1 - 8 * 86400, "contacts", "import", os.path.join(tmp, "contacts.csv"),
          "--list", "news")
    if r.returncode != 0:
        print("contacts import failed: " + r.stderr)
        sys.exit(1)
    base = [hard_row("old%d_%d@bigmail.example" % (d, k), DAY1 - (7 - d) * 86400 + k * 3600)
            for d in range(7) for k in range(2)]
    write(os.path.join(tmp, "baseline.csv"), base)
    b(db, DAY1, "ingest", "pmta", os.path.join(tmp, "baseline.csv"))
    check(one(db, "SELECT COUNT(*) FROM suppressions") == 14,
          "the quiet baseline: its 14 dead addresses are suppressed as usual")
    burst = [hard_row("user%d@bigmail.example" % i, BURST + i * 600 // 2000) for i in range(2000)]
    write(os.path.join(tmp, "burst.csv"), burst)
    t0 = time.time()
    r = b(db, BURST + 600, "ingest", "pmta", os.path.join(tmp, "burst.csv"))
    print("     (2,000 bounces ingested in %.2f s)" % (time.time() - t0))
    check(r.returncode == 0, "ingest of the burst")
    return db


def scenario_burst(tmp, db):
    supp = one(db, "SELECT COUNT(*) FROM suppressions WHERE address LIKE 'user%'")
    check(supp == 0, "2,000 hard bounces in 10 minutes: nobody suppressed (got %d)" % supp)
    bad = one(db, "SELECT COUNT(*) FROM contacts WHERE hygiene_status <> 'ACTIVE'")
    check(bad == 0, "all 200 contacts ACTIVE, the first ones too (got %d not ACTIVE)" % bad)
    subs = one(db, "SELECT COUNT(*) FROM list_members WHERE status = 'subscribed'")
    check(subs == 200, "all 200 still subscribed to news (got %d)" % subs)
    held = one(db, "SELECT COUNT(*) FROM bounce_events WHERE hold_state = 'held'")
    check(held == 2000, "2,000 events recorded, held_by_outage (got %d)" % held)
    out = q(db, "SELECT id, kind, domain, state, held FROM outages")
    check(out == [(1, "outage", "bigmail.example", "open", 2000)],
          "one open outage at bigmail.example holding 2,000 (%s)" % out)
    alerts = q(db, "SELECT kind, scope, key, metric FROM alerts")
    check(alerts == [("outage", "domain", "bigmail.example", "hard_bounces")],
          "exactly one alert (%s)" % alerts)
    r = b(db, BURST + 700, "alerts", "run")
    check("raised 0" in r.stdout, "no spike alert on top of the outage's (%s)" % r.stdout.strip())
    r = b(db, BURST + 700, "check", "user10@bigmail.example")
    check(r.returncode == 0, "check user10@bigmail.example: sendable")
    r = b(db, BURST + 700, "outage", "list")
    check(r.returncode == 0 and "\tbigmail.example\topen\t" in r.stdout, "outage list shows it")
    r = b(db, BURST + 800, "ingest", "pmta", os.path.join(tmp, "burst.csv"))
    check(one(db, "SELECT COUNT(*) FROM bounce_events") == 2014 and
          one(db, "SELECT held FROM outages WHERE id = 1") == 2000,
          "the same file again changes nothing")


def scenario_release(db):
    r = b(db, BURST + 900, "outage", "release", "1")
    check(r.returncode == 0 and "2000" in r.stdout, "outage release 1: 2,000 released")
    check(one(db, "SELECT COUNT(*) FROM suppressions WHERE address LIKE 'user%'") == 0 and
          one(db, "SELECT COUNT(*) FROM contacts WHERE hygiene_status = 'ACTIVE'") == 200,
          "after release: nobody suppressed, every contact ACTIVE")
    check(one(db, "SELECT COUNT(*) FROM bounce_events WHERE hold_state = 'released'") == 2000,
          "the events stay, marked released")
    r = b(db, BURST + 901, "outage", "apply", "1")
    check(r.returncode == 1, "a released outage cannot be applied afterwards (exit 1)")


def scenario_apply(db):
    r = b(db, BURST + 900, "outage", "apply", "1")
    check(r.returncode == 0 and "2000" in r.stdout, "outage apply 1: 2,000 applied")
    n = one(db, "SELECT COUNT(*) FROM suppressions WHERE address LIKE 'user%'")
    check(n == 2000, "after apply: 2,000 suppressed (got %d)" % n)
    check(one(db, "SELECT COUNT(*) FROM contacts WHERE hygiene_status = 'BOUNCED_HARD'") == 200
          and one(db, "SELECT COUNT(*) FROM list_members WHERE status = 'subscribed'") == 0,
          "every contact BOUNCED_HARD and unsubscribed")
    check(one(db, "SELECT COUNT(*) FROM audit_log WHERE actor = 'cli' AND action = 'bounce'")
          == 2000, "each applied penalty audited with the operator as actor")
    r = b(db, BURST + 901, "check", "user10@bigmail.example")
    check(r.returncode == 1, "check user10@bigmail.example: suppressed")


def scenario_settle(tmp, db):
    r = b(db, BURST + 1800, "outage", "evaluate")
    check("recovered 1" in r.stdout, "20 minutes on, no burst in the last window: recovered")
    again = [hard_row("user%d@bigmail.example" % (i * 7), BURST + 3 * 3600 + i)
             for i in range(10)]
    write(os.path.join(tmp, "again.csv"), again)
    b(db, BURST + 3 * 3600 + 60, "ingest", "pmta", os.path.join(tmp, "again.csv"))
    r = b(db, BURST + 1800 + 3600, "outage", "evaluate")
    check("settled 0" in r.stdout, "not decided before guard.decide_after (1d)")
    old = "SELECT COUNT(*) FROM guard_counts WHERE bucket < %d" % (
        BURST + 1800 + 86400 - 7 * 86400 - 660)
    before = one(db, old)
    r = b(db, BURST + 1800 + 86400, "outage", "evaluate")
    check("settled 1" in r.stdout, "a day after the recovery: settled")
    check(before > 0 and one(db, old) == 0, "counters older than baseline + window purged "
          "(%d before)" % before)
    st = q(db, "SELECT state, applied, released FROM outages WHERE id = 1")
    check(st == [("settled", 10, 1990)], "10 that failed again applied, 1,990 released (%s)" % st)
    check(one(db, "SELECT COUNT(*) FROM suppressions WHERE address LIKE 'user%'") == 10,
          "10 suppressed in all")


def scenario_max_hold(tmp, db):
    rows = []
    for h in range(1, 74):  # 50 hard bounces every hour for 3 days: the domain is gone
        rows += [hard_row("gone%d_%d@bigmail.example" % (h, k), BURST + h * 3600 + k)
                 for k in range(50)]
    write(os.path.join(tmp, "gone.csv"), rows)
    b(db, BURST + 74 * 3600, "ingest", "pmta", os.path.join(tmp, "gone.csv"))
    r = b(db, BURST + 73 * 3600 + 60, "outage", "evaluate")
    check("applied 1" in r.stdout, "a burst still going after guard.max_hold: applied (%s)"
          % r.stdout.strip())
    n = one(db, "SELECT COUNT(*) FROM suppressions WHERE address LIKE 'user%'")
    check(n == 2000, "then every held penalty is carried out (%d)" % n)


def scenario_reputation(tmp):
    db = store_new(tmp, "rep")
    rows = ["b,%s,u%d@bigisp.example,5.7.1,smtp;550 5.7.1 Service unavailable; client host "
            "[192.0.2.1] blocked using Spamhaus,mx.bigisp.example,policy-related\n"
            % (ts(BURST + i), i) for i in range(120)]
    write(os.path.join(tmp, "blocked.csv"), rows)
    b(db, BURST + 200, "ingest", "pmta", os.path.join(tmp, "blocked.csv"))
    check(one(db, "SELECT COUNT(*) FROM suppressions") == 0, "sender-side blocks: nobody "
          "suppressed")
    out = q(db, "SELECT kind, domain, state, held FROM outages")
    check(out == [("reputation", "bigisp.example", "open", 0)],
          "one reputation incident, holding nothing (%s)" % out)
    check(q(db, "SELECT kind, metric FROM alerts") == [("reputation", "sender_refusals")],
          "one reputation alert")
    r = b(db, BURST + 3600, "outage", "evaluate")
    check("reputation incidents closed 1" in r.stdout, "it closes when the refusals stop")


tmp = tempfile.mkdtemp(prefix="bnc-guard-outage-")
try:
    r = subprocess.run([BIN, "outage", "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        print("skip: no outage command in this build")
        sys.exit(77)
    if BACKEND == "pg":
        pg_setup()
    base = setup(tmp)
    scenario_burst(tmp, base)
    copies = {name: store_copy(tmp, base, name)
              for name in ("release", "apply", "settle", "max_hold")}
    scenario_release(copies["release"])
    scenario_apply(copies["apply"])
    scenario_settle(tmp, copies["settle"])
    scenario_max_hold(tmp, copies["max_hold"])
    scenario_reputation(tmp)
finally:
    for d in PG_DBS:
        subprocess.run(["psql", "-q", PG_ADMIN, "-c", "DROP DATABASE IF EXISTS " + d],
                       capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)
print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
