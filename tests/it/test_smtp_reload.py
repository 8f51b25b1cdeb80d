#!/usr/bin/env python3
"""SIGHUP: `bounced serve` re-reads its configuration file; the reloadable smtp.* settings
(here smtp.domains and smtp.max_recipients) apply to new sessions, while the listener keeps
running and nothing in flight is lost; a broken file leaves the old settings in place."""

import os
import signal
import smtplib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Daemon, check, make_dsn  # noqa: E402


def rcpt_codes(d, *addrs):
    s = smtplib.SMTP("127.0.0.1", d.port, timeout=30)
    s.ehlo("reload.example")
    s.mail("")
    codes = [s.rcpt(a)[0] for a in addrs]
    s.rset()
    s.quit()
    return codes


def reload(d, n):
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 120
    while time.time() < deadline:
        text = d.logtext()
        if text.count("event=reloaded") >= n or text.count("event=reload_failed") >= 1:
            return
        time.sleep(0.1)


def main():
    d = Daemon(domains=None)
    conf = os.path.join(d.tmp, "bounced.conf")
    with open(conf, "w") as f:
        f.write("[smtp]\ndomains = a.example\nmax_recipients = 2\n")
    d.config = conf
    try:
        d.start()
        check(rcpt_codes(d, "x@a.example", "x@b.example") == [250, 550], "before: a.example only")
        check(rcpt_codes(d, "1@a.example", "2@a.example", "3@a.example") == [250, 250, 452], "before: 2 recipients")
        with open(conf, "w") as f:
            f.write("[smtp]\ndomains = b.example\nmax_recipients = 3\n")
        reload(d, 1)
        check("event=reloaded" in d.logtext(), "SIGHUP reloaded")
        check(rcpt_codes(d, "x@a.example", "x@b.example") == [550, 250], "after: b.example only")
        check(rcpt_codes(d, "1@b.example", "2@b.example", "3@b.example") == [250, 250, 250], "after: 3 recipients")
        s = smtplib.SMTP("127.0.0.1", d.port, timeout=30)
        check(s.sendmail("", ["bounces@b.example"], make_dsn("reload@dest.example", 1)) == {}, "mail after reload")
        s.quit()
        with open(conf, "w") as f:
            f.write("[smtp]\nno_such_key = 1\n")
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 60
        while "event=reload_failed" not in d.logtext() and time.time() < deadline:
            time.sleep(0.1)
        check("event=reload_failed" in d.logtext(), "a broken file is refused")
        check(rcpt_codes(d, "x@b.example") == [250], "old settings stay after a failed reload")
        check(d.wait_drained(expect_ingested=1, timeout=60), "the message was processed")
        check(d.stop() == 0, "exit 0")
    except Exception:
        print(d.logtext()[-3000:])
        raise
    finally:
        d.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
