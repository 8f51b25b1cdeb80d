#!/usr/bin/env python3
"""A store outage never strands a message (issue 16, item 1), on SQLite.

1. Another process holds the SQLite write lock for 30 s while 40 DSNs arrive over SMTP:
   every one is acknowledged (the spool takes them), none goes to spool/hold/, the daemon
   logs event=store_down; when the lock goes, it resumes by itself (event=store_up) and
   applies every bounce exactly once: 0 lost, 0 doubled, no manual step.
2. `serve` refuses to start (exit 3) on a store it cannot write (the lock held again).
3. Messages found in spool/hold/ are processed again at the daemon's start, and by
   `bounced process --requeue` (the message applied, moved out of hold/)."""

import os
import smtplib
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Daemon, check, make_dsn  # noqa: E402

FLOOD = int(os.environ.get("BNC_OUTAGE_FLOOD", "40"))
LOCK_SECONDS = int(os.environ.get("BNC_OUTAGE_SECONDS", "30"))
ENV = {"BOUNCED_STORE_BUSY_TIMEOUT_MS": "50"}


def flood(port, first, count, acked):
    def one(idx):
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        s.ehlo("outage%d.example" % idx)
        for n in range(first + idx, first + count, 4):
            rcpt = "out%d@dest.example" % n
            refused = s.sendmail("", ["bounces@bounce.example"], make_dsn(rcpt, 70000 + n))
            if not refused:
                acked.append(rcpt)
        s.quit()

    ts = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    return ts


def spool_file(d, name, rcpt, n):
    """A message in the daemon's spool layout (as a listener wrote it) under hold/."""
    path = os.path.join(d.spool, "hold", name)
    with open(path, "w", newline="") as f:
        f.write(make_dsn(rcpt, n))
    return path


def events(d):
    return dict(d.q("select recipient, count(*) from bounce_events group by recipient"))


def main():
    d = Daemon(env=ENV, workers=2)
    try:
        d.start()
        acked = []
        for t in flood(d.port, 0, 20, acked):
            t.join(60)
        check(d.wait_drained(20), "the first 20 are processed")

        # 1. the lock: SQLite answers "database is locked" to every writer
        con = sqlite3.connect(d.db, timeout=30, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        t0 = time.time()
        ts = flood(d.port, 20, FLOOD, acked)
        for t in ts:
            t.join(120)
        check(len(acked) == 20 + FLOOD, "all %d messages acknowledged during the outage" % len(acked))
        while time.time() - t0 < LOCK_SECONDS:
            check(d.spool_count("hold") == 0, "nothing is held while the store is down")
            time.sleep(0.5)
        check("event=held" not in d.logtext(), "no message is held for a store error")
        con.execute("ROLLBACK")
        con.close()
        deadline = time.time() + 120
        while time.time() < deadline and len(events(d)) < 20 + FLOOD:
            time.sleep(0.2)
        ev = events(d)
        check(len(ev) == 20 + FLOOD, "0 lost: %d of %d applied" % (len(ev), 20 + FLOOD))
        check(all(c == 1 for c in ev.values()), "0 doubled")
        check(set(ev) == set(acked), "exactly the acknowledged recipients")
        check("event=store_down" in d.logtext(), "the outage is logged (event=store_down)")
        check("event=store_up" in d.logtext(), "and it resumed by itself (event=store_up)")
        check(d.spool_count("hold") == 0 and d.wait_drained(30), "spool/new/ and hold/ empty")
        check(d.stop() == 0, "exit 0")

        # 2. refuse to start on a store that cannot be written
        con = sqlite3.connect(d.db, timeout=30, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        r = subprocess.run([d.bin, "--db", d.db, "serve", "--smtp", "127.0.0.1:0", "--http", "",
                            "--spool", d.spool], env=d.env, capture_output=True, timeout=60)
        con.execute("ROLLBACK")
        con.close()
        check(r.returncode == 3, "serve on a locked store exits 3 (got %d)" % r.returncode)
        check(b"not writable" in r.stderr, "and says why: %r" % r.stderr[-300:])

        # 3. hold/ is processed again at start...
        spool_file(d, "0000000001.a1", "held1@dest.example", 90001)
        with open(os.path.join(d.spool, "hold", "0000000001.a1.reason"), "w") as f:
            f.write("status=store failure (older version)\n")
        d.start()
        deadline = time.time() + 60
        while time.time() < deadline and "held1@dest.example" not in events(d):
            time.sleep(0.2)
        check(events(d).get("held1@dest.example") == 1, "a held message is applied at start")
        check(d.spool_count("hold") == 0, "and hold/ is empty (its .reason file too)")
        check(d.stop() == 0, "exit 0")

        # ... and by `bounced process --requeue`
        spool_file(d, "0000000002.b2", "held2@dest.example", 90002)
        r = subprocess.run([d.bin, "--db", d.db, "process", "--requeue", "--spool", d.spool],
                           env=d.env, capture_output=True, timeout=60)
        check(r.returncode == 0, "process --requeue exits 0: %r" % r.stderr)
        check(events(d).get("held2@dest.example") == 1, "and applies the held message")
        check(d.spool_count("hold") == 0 and d.spool_count("new") == 0, "which leaves hold/")
        r = subprocess.run([d.bin, "--db", d.db, "process", "--requeue", "--spool", d.spool],
                           env=d.env, capture_output=True, timeout=60)
        check(r.returncode == 0 and len(events(d)) == 20 + FLOOD + 2, "a second run is a no-op")
    except Exception:
        print(d.logtext()[-4000:])
        raise
    finally:
        d.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
