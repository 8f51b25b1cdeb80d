#!/usr/bin/env python3
"""How long the dashboard takes to load with many events in the store: seeds N synthetic
verdicts (default 100,000, over 90 days, 1,000 per POST /api/v1/bounces) into a fresh
`bounced serve`, then loads the overview in headless Chromium, cold and warm, for the
default 30 days and for all time, and prints the time from navigation to the rendered page
(body[data-ready=overview]) and the API time of /api/v1/overview alone.

Usage: tests/web/bench_dashboard.py [N]   (BOUNCED_BIN as for the tests)
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_dashboard as td  # noqa: E402  (Serve, CHROMIUM)
import cdp  # noqa: E402

DAY = 86400
REASONS = [("userunknown", "hard", "550 5.1.1 <x> User unknown"),
           ("mailboxfull", "soft", "452 4.2.2 Mailbox full"),
           ("blocked", "soft", "554 5.7.1 client host blocked"),
           ("spamdetected", "soft", "550 5.7.1 message rejected as spam"),
           ("feedback", "complaint", "")]


def seed(s, n):
    now = int(time.time())
    t0 = time.time()
    for start in range(0, n, 1000):
        batch = []
        for i in range(start, min(n, start + 1000)):
            reason, kind, diag = REASONS[i % len(REASONS)]
            batch.append({"recipient": "b%d@d%d.example" % (i, i % 500), "reason": reason,
                          "kind": kind, "status": "5.0.0", "diagnostic": diag,
                          "time": now - (i * 7919 % (90 * DAY))})
        s.j("POST", "/api/v1/bounces", {"ref": "bench-%d" % start, "verdicts": batch})
    return time.time() - t0


def cpu_ms(pid):
    """User + system CPU time of a process so far, in ms (/proc/PID/stat fields 14, 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def tree_cpu_ms(root):
    """CPU time of a process and all its descendants (Chromium runs several), in ms."""
    parent, total = {}, 0.0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    for pid in parent:
        p = pid
        while p in parent and p != root:
            p = parent[p]
        if p == root:
            try:
                total += cpu_ms(pid)
            except OSError:
                pass
    return total


def load(b, url, token):
    b.goto(url + "/healthz")
    b.js("sessionStorage.setItem('bnc_token', %s)" % json.dumps(token))
    t0 = time.time()
    b.goto(url + "/#/overview")
    b.wait("document.body.dataset.ready === 'overview'", timeout=60, what="the overview")
    return time.time() - t0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    s = td.Serve()
    b = None
    try:
        secs = seed(s, n)
        total = s.j("GET", "/api/v1/overview?bucket=month")["stored"]["events"]
        print("seeded %d events in %.1f s (%.0f/s); store has %d" % (n, secs, n / secs, total))
        for q in ("", "?bucket=month"):
            t0 = time.time()
            s.j("GET", "/api/v1/overview" + (q or "?since=%d" % (int(time.time()) - 30 * DAY)))
            print("GET /api/v1/overview %-14s %.0f ms" % (q or "(30 days)", 1000 * (time.time() - t0)))
        b = cdp.Browser(td.CHROMIUM)
        b.viewport(1400, 900)
        for label in ("cold", "warm", "warm"):
            c0, k0 = cpu_ms(s.p.pid), tree_cpu_ms(b.p.pid)
            wall = 1000 * load(b, s.base, s.token)
            print("dashboard load, 30 days, %s: %.0f ms (CPU: server %.0f ms, Chromium %.0f ms)"
                  % (label, wall, cpu_ms(s.p.pid) - c0, tree_cpu_ms(b.p.pid) - k0))
        b.js("document.body.dataset.ready = ''")
        t0 = time.time()
        b.click('.presets button[data-days="0"]')
        b.wait("document.body.dataset.ready === 'overview'", timeout=60, what="all time")
        print("switch to all time: %.0f ms" % (1000 * (time.time() - t0)))
        print("load average: %s" % open("/proc/loadavg").read().strip())
    finally:
        if b is not None:
            b.close()
        s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
