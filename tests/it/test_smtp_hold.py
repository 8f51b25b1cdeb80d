#!/usr/bin/env python3
"""A message the pipeline can never take (here: larger than limits.message_size while the
listener accepts it) is moved to spool/hold/ and logged, and the good messages around it, in
the same worker batch, are still processed exactly once."""

import os
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Daemon, check, make_dsn  # noqa: E402


def main():
    # the listener takes up to 64k; the parser refuses anything over 8k
    d = Daemon(env={"BOUNCED_LIMITS_MESSAGE_SIZE": "8k", "BOUNCED_SMTP_MAX_MESSAGE_SIZE": "64k"}, workers=1)
    try:
        d.start()
        big = make_dsn("big@dest.example", 1).replace("Your message", ("Z" * 70 + "\r\n") * 200 + "Your message")
        # five clients at once, so the spool writer and the worker see them as one batch
        barrier = threading.Barrier(5)
        ok = []

        def send(i):
            msg = big if i == 2 else make_dsn("ok%d@dest.example" % i, 10 + i)
            s = smtplib.SMTP("127.0.0.1", d.port, timeout=30)
            s.ehlo("hold.example")
            s.mail("")
            s.rcpt("bounces@bounce.example")
            barrier.wait(timeout=30)
            code, _ = s.data(msg)
            s.quit()
            ok.append(code == 250)

        ts = [threading.Thread(target=send, args=(i,)) for i in range(5)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        check(len(ok) == 5 and all(ok), "all five accepted")
        deadline = time.time() + 60
        while time.time() < deadline and (d.spool_count("new") > 0 or d.spool_count("hold") < 1):
            time.sleep(0.1)
        check(d.spool_count("hold") == 1, "the message the pipeline refuses is in spool/hold/")
        check(d.spool_count("new") == 0, "nothing left in spool/new/")
        check("event=held" in d.logtext(), "and logged as held")
        held = [n for n in os.listdir(os.path.join(d.spool, "hold")) if not n.endswith(".reason")]
        with open(os.path.join(d.spool, "hold", held[0] + ".reason")) as f:
            why = f.read()
        check("limit exceeded" in why, "with the reason next to the file: %r" % why)
        rows = dict(d.q("select recipient, count(*) from bounce_events group by recipient"))
        check(rows == {"ok0@dest.example": 1, "ok1@dest.example": 1, "ok3@dest.example": 1,
                       "ok4@dest.example": 1}, "the others are processed exactly once: %r" % rows)
        check(d.stop() == 0, "exit 0")
    except Exception:
        print(d.logtext()[-3000:])
        raise
    finally:
        d.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
