#!/usr/bin/env python3
"""Crash safety: kill -9 `bounced serve` in the middle of a flood of 5,000 DSNs sent by several
threads, restart it on the same spool and store, and check that every message that got a 250
was processed exactly once: 0 lost, 0 double-counted.

The senders behave like an MTA: a message whose 250 never arrived (the connection died) is
sent again once the server is back, so some messages reach the spool twice; the store must
still count each bounce once (the pipeline dedupes by spool id and by event key)."""

import os
import signal
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Daemon, check, make_dsn  # noqa: E402

TOTAL = int(os.environ.get("BNC_CRASH_MESSAGES", "5000"))
THREADS = 8
KILL_AFTER = TOTAL // 3


class Flood:
    def __init__(self, returned=True):
        self.returned = returned
        self.port = None
        self.lock = threading.Lock()
        self.acked = set()
        self.resent = 0
        self.errors = 0
        self.deadline = time.time() + 240

    def sender(self, idx):
        mine = list(range(idx, TOTAL, THREADS))
        s = None
        i = 0
        while i < len(mine) and time.time() < self.deadline:
            n = mine[i]
            rcpt = "crash%d@dest.example" % n
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", self.port, timeout=30)
                    s.ehlo("flood%d.example" % idx)
                msg = make_dsn(rcpt, 50000 + n, returned=self.returned)
                refused = s.sendmail("", ["bounces@bounce.example"], msg)
                if refused:
                    raise RuntimeError("refused %r" % refused)
                with self.lock:
                    self.acked.add(rcpt)
                i += 1
            except Exception:  # noqa: BLE001 - the server was killed: reconnect, send again
                with self.lock:
                    self.errors += 1
                    self.resent += 1
                try:
                    if s is not None:
                        s.close()
                except Exception:  # noqa: BLE001
                    pass
                s = None
                time.sleep(0.05)
        if s is not None:
            try:
                s.quit()
            except Exception:  # noqa: BLE001
                pass


def resend_acknowledged(flood, n):
    """What the server sees when a client lost the 250 of a message the server had already
    spooled (the kill -9 window between the spool commit and the reply): the same bytes
    again, on a new connection. Which messages fall in that window is luck; these n do."""
    s = smtplib.SMTP("127.0.0.1", flood.port, timeout=30)
    for k in range(0, TOTAL, max(1, TOTAL // n)):
        s.sendmail("", ["bounces@bounce.example"],
                   make_dsn("crash%d@dest.example" % k, 50000 + k, returned=flood.returned))
    s.quit()


def main(returned=True, resend=0):
    d = Daemon(workers=2)
    flood = Flood(returned)
    try:
        d.start()
        flood.port = d.port
        ts = [threading.Thread(target=flood.sender, args=(k,)) for k in range(THREADS)]
        t0 = time.time()
        for t in ts:
            t.start()
        while len(flood.acked) < KILL_AFTER and time.time() - t0 < 120:
            time.sleep(0.01)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        d.proc.stdout.close()
        d.proc = None
        acked_at_kill = len(flood.acked)
        check(0 < acked_at_kill < TOTAL, "killed mid-flood after %d acknowledged messages" % acked_at_kill)
        in_spool = d.spool_count("new")
        print("info: %d messages in spool/new at the kill, %d in tmp/" % (in_spool, d.spool_count("tmp")))
        time.sleep(0.5)
        d.start()  # same directory: same store and spool, a new port
        flood.port = d.port
        for t in ts:
            t.join(300)
        check(len(flood.acked) == TOTAL, "all %d messages acknowledged in the end (%d resent after errors)"
              % (TOTAL, flood.resent))
        if resend:
            resend_acknowledged(flood, resend)
            print("info: %d acknowledged messages sent again, as after a lost 250" % resend)
        check(d.wait_drained(timeout=180), "spool drained after restart")
        time.sleep(0.5)
        rows = d.q("select recipient, count(*) from bounce_events where recipient like 'crash%' group by recipient")
        counts = dict(rows)
        lost = [r for r in flood.acked if r not in counts]
        doubled = [r for r, c in counts.items() if c != 1]
        check(not lost, "0 lost (acknowledged but not in the store: %d)" % len(lost))
        check(not doubled, "0 double-counted (%d recipients with more than one event)" % len(doubled))
        check(len(counts) == TOTAL, "%d distinct verdicts for %d messages" % (len(counts), TOTAL))
        strikes = d.q("select count(*) from contacts where email like 'crash%' and hygiene_status != 'BOUNCED_HARD'")[0][0]
        check(strikes == 0, "every contact hard-bounced once")
        ing = d.q("select count(*) from ingested where source='smtp'")[0][0]
        print("info: %d spool files committed (>= %d: resends after the kill are separate files,"
              " their verdicts deduplicated)" % (ing, TOTAL))
        check(ing >= TOTAL, "every spooled message was committed")
        m = [line for line in d.logtext().splitlines() if "event=spool_recovery" in line]
        print("info: recovery at restart: %s" % (m[-1].split("level=info ")[-1] if m else "nothing to recover"))
        check(d.stop() == 0, "clean exit after the test")
    except Exception:
        print("---- serve log (tail) ----")
        print(d.logtext()[-4000:])
        raise
    finally:
        flood.deadline = 0
        d.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
