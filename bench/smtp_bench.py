#!/usr/bin/env python3
"""End-to-end SMTP benchmark driver for bench/run_smtp.sh: start `bounced serve` (SQLite, temp
dir, loopback), flood it with DSNs from P client processes x C connections x M messages
(smtp_flood.py, PIPELINING), wait until the store has them all, print the rates.

env: BNC_BENCH_SMTP_PROCS (2), BNC_BENCH_SMTP_CONNS (per process, 200),
     BNC_BENCH_SMTP_MSGS (per connection, 25), BNC_BENCH_DIR (where the store and spool go;
     default the system temp dir: a tmpfs such as /dev/shm shows the cost without the disk)"""

import os
import re
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "it"))
from smtp_harness import Daemon  # noqa: E402

procs = int(os.environ.get("BNC_BENCH_SMTP_PROCS", "2"))
conns = int(os.environ.get("BNC_BENCH_SMTP_CONNS", "200"))
msgs = int(os.environ.get("BNC_BENCH_SMTP_MSGS", "25"))
total = procs * conns * msgs



def disk_probe(where, n=40):
    """ms per durable small file (write, fdatasync, rename, fsync dir) where the spool lives."""
    probe = tempfile.mkdtemp(prefix="bnc-probe-", dir=where)
    os.mkdir(os.path.join(probe, "new"))
    dfd = os.open(os.path.join(probe, "new"), os.O_RDONLY)
    t = time.time()
    for i in range(n):
        p = os.path.join(probe, "t%d" % i)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"x" * 3000)
        os.fdatasync(fd)
        os.close(fd)
        os.rename(p, os.path.join(probe, "new", "t%d" % i))
        os.fsync(dfd)
    ms = (time.time() - t) / n * 1000
    os.close(dfd)
    subprocess.call(["rm", "-rf", probe])
    return ms


base = os.environ.get("BNC_BENCH_DIR")
probe_ms = disk_probe(base)
d = Daemon(tmp=tempfile.mkdtemp(prefix="bnc-bench-", dir=base) if base else None)
d.own_tmp = True
try:
    d.start()
    env = dict(os.environ, BNC_FLOOD_WAIT="1")
    ps = [
        subprocess.Popen(
            [sys.executable, os.path.join(here, "smtp_flood.py"), str(d.port), str(conns), str(msgs), str(k * conns * msgs)],
            stdout=subprocess.PIPE, stdin=subprocess.PIPE, env=env,
        )
        for k in range(procs)
    ]
    for p in ps:  # every client has built its messages
        p.stdout.readline()
    t0 = time.time()
    for p in ps:
        p.stdin.write(b"go\n")
        p.stdin.flush()
    accepted = failed = 0
    for p in ps:
        out = p.communicate(timeout=900)[0].decode()
        m = re.search(r"accepted=(\d+) failed=(\d+)", out)
        if m:
            accepted += int(m.group(1))
            failed += int(m.group(2))
        else:
            print("client error:", out.strip())
    t_acc = time.time() - t0
    deadline = time.time() + 600
    done = 0
    while time.time() < deadline:
        done = d.q("select count(*) from ingested")[0][0]
        if done >= accepted:
            break
        time.sleep(0.05)
    t_all = time.time() - t0
    events = d.q("select count(*) from bounce_events")[0][0]
    rc = d.stop()
    print("   %d DSNs over %d connections (%d client processes), SQLite store and spool in %s, loopback"
          % (total, procs * conns, procs, os.path.dirname(d.tmp)))
    print("   accepted (250 after fsync):  %6d in %6.2fs = %7.0f DSNs/s   (failed %d)" % (accepted, t_acc, accepted / t_acc, failed))
    print("   processed end to end:        %6d in %6.2fs = %7.0f DSNs/s   (%d verdicts stored)" % (done, t_all, done / t_all, events))
    print("   clean shutdown: %s; disk at the time: %.2f ms per fsync'd file written alone (%.0f/s)"
          % ("yes" if rc == 0 else "no (exit %s)" % rc, probe_ms, 1000 / probe_ms if probe_ms > 0 else 0))
    sys.exit(0 if done == accepted == total else 1)
finally:
    d.cleanup()
