#!/usr/bin/env python3
"""A store outage never strands a message (issue 16, item 1), on PostgreSQL: the test's own
cluster (scripts/pg-test.sh, fixed port) is stopped for BNC_OUTAGE_SECONDS (30) while 40
DSNs arrive over SMTP, then started again. Every message is acknowledged, nothing is held,
and once PostgreSQL is back the daemon reconnects and applies each bounce exactly once:
0 lost, 0 doubled, no manual step. Meanwhile every API route (authenticated or not, a
cached token or a new one) answers 503 with Retry-After (issue 16, item 2). Skips (77)
without a PostgreSQL server unless CI=true."""

import glob
import http.client
import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Daemon, check, make_dsn  # noqa: E402

FLOOD = int(os.environ.get("BNC_OUTAGE_FLOOD", "40"))
OUTAGE = int(os.environ.get("BNC_OUTAGE_SECONDS", "30"))
SRC = os.environ.get("BNC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PGTEST = os.path.join(SRC, "scripts", "pg-test.sh")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pg(cmd, d, port):
    env = dict(os.environ, BNC_PG_PORT=str(port))
    env.pop("BNC_PG_OPTIONAL", None)
    return subprocess.run(["sh", PGTEST, cmd, d], env=env, capture_output=True, text=True,
                          timeout=180)


def psql(url, sql):
    r = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-F", "\t", url, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def flood(port, first, count, acked):
    def one(idx):
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        s.ehlo("outage%d.example" % idx)
        for n in range(first + idx, first + count, 4):
            rcpt = "pgout%d@dest.example" % n
            if not s.sendmail("", ["bounces@bounce.example"], make_dsn(rcpt, 80000 + n)):
                acked.append(rcpt)
        s.quit()

    ts = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    return ts


def api(addr, method, path, token=None, body=None):
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Retry-After"), data


def main():
    if not shutil.which("psql") or not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        if os.environ.get("CI") == "true":
            raise SystemExit("PostgreSQL is required under CI")
        print("skip: no PostgreSQL server")
        sys.exit(77)
    pgdir = tempfile.mkdtemp(prefix="bnc-pgout-")
    port = free_port()
    r = pg("start", pgdir, port)
    check(r.returncode == 0, "own PostgreSQL cluster started: %s" % r.stderr[-500:])
    url = r.stdout.strip().splitlines()[-1]
    d = Daemon(workers=2, env={"BOUNCED_STORE_BUSY_TIMEOUT_MS": "300"},
               args=["--http", "127.0.0.1:0"])
    d.db = url
    try:
        d.start()
        token = None
        while token is None:
            line = d.proc.stdout.readline().decode()
            check(line != "", "serve prints the admin token")
            if "admin API token" in line:
                token = line.rsplit(" ", 1)[1].strip()
        st, _, _ = api(d.http, "GET", "/api/v1/contacts", token)
        check(st == 200, "the API answers while PostgreSQL is up")
        acked = []
        for t in flood(d.port, 0, 20, acked):
            t.join(60)
        check(d.wait_drained(), "the first 20 are processed")
        r = pg("stop", pgdir, port)
        check(r.returncode == 0, "PostgreSQL stopped")
        t0 = time.time()
        for t in flood(d.port, 20, FLOOD, acked):
            t.join(120)
        check(len(acked) == 20 + FLOOD, "all %d acknowledged while PostgreSQL is down" % len(acked))
        for method, path, tok, body in (
                ("GET", "/api/v1/contacts", token, None),
                ("GET", "/api/v1/check/a@dest.example", token, None),
                ("POST", "/api/v1/suppressions", token, {"address": "s@dest.example"}),
                ("GET", "/api/v1/contacts", "bnc_" + "1" * 64, None),
                ("GET", "/api/v1/stats", token, None),
                ("GET", "/healthz", None, None)):
            st, ra, data = api(d.http, method, path, tok, body)
            check(st == 503 and ra is not None and int(ra) > 0,
                  "%s %s -> 503 with Retry-After while the store is down (got %d %r %r)"
                  % (method, path, st, ra, data[:120]))
        while time.time() - t0 < OUTAGE:
            check(d.spool_count("hold") == 0, "nothing is held while the store is down")
            time.sleep(0.5)
        r = pg("start", pgdir, port)
        check(r.returncode == 0 and r.stdout.strip().endswith(url.rsplit("@", 1)[1]),
              "PostgreSQL started again on the same port")
        deadline = time.time() + 120
        rows = []
        while time.time() < deadline:
            rows = psql(url, "select recipient, count(*) from bounce_events group by recipient")
            if len(rows) >= 20 + FLOOD:
                break
            time.sleep(0.5)
        ev = {k: int(v) for k, v in rows}
        check(len(ev) == 20 + FLOOD, "0 lost: %d of %d applied" % (len(ev), 20 + FLOOD))
        check(all(c == 1 for c in ev.values()), "0 doubled")
        check(set(ev) == set(acked), "exactly the acknowledged recipients")
        check("event=store_down" in d.logtext(), "the outage is logged")
        check("event=store_up" in d.logtext(), "resumed by itself")
        check("event=held" not in d.logtext() and d.spool_count("hold") == 0, "nothing held")
        check(d.stop() == 0, "exit 0")
    except Exception:
        print(d.logtext()[-4000:])
        raise
    finally:
        d.cleanup()
        pg("destroy", pgdir, port)
        shutil.rmtree(pgdir, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
