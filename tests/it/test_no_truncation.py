#!/usr/bin/env python3
"""No silent truncation (issue 16, item 4): a log or a webhook batch is a stream of
independent events, not one DSN, so limits.dsn_recipients (1,000) does not cut it.

- a 5,000-line Postfix maillog through `bounced ingest maillog` applies 5,000 events;
- a 5,000-event SendGrid batch through `bounced ingest sendgrid` applies 5,000;
- the same batch POSTed to /webhooks/sendgrid answers 200 and applies 5,000;
- where a real limit is hit it fails loudly and applies nothing: a DSN with more recipients
  than limits.dsn_recipients makes `bounced process` exit non-zero (before: the first ones
  were applied, the rest dropped, exit 0)."""

import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import bounced_bin, check, make_dsn  # noqa: E402

N = 5000
TOKEN = "whtok-" + "7" * 24


def count(db, like):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute("select count(distinct recipient) from bounce_events where recipient like ?",
                           (like,)).fetchone()[0]
    finally:
        con.close()


def run(bin_, db, *args, env=None):
    return subprocess.run([bin_, "--db", db] + list(args), capture_output=True, text=True,
                          timeout=600, env=env)


def sendgrid_batch(prefix):
    return json.dumps([{"email": "%s%d@dest.example" % (prefix, i), "event": "bounce",
                        "type": "bounce", "status": "5.1.1", "timestamp": 1795395600 + i,
                        "reason": "550 5.1.1 user unknown", "sg_event_id": "%s-%d" % (prefix, i)}
                       for i in range(N)])


def main():
    b = bounced_bin()
    tmp = tempfile.mkdtemp(prefix="bnc-trunc-")
    db = os.path.join(tmp, "b.db")
    proc = None
    try:
        # 1. maillog
        log = os.path.join(tmp, "maillog")
        with open(log, "w") as f:
            for i in range(N):
                f.write("Nov 23 01:%02d:%02d mx postfix/smtp[%d]: Q%07X: to=<ml%d@dest.example>, "
                        "relay=mx.dest.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, "
                        "status=bounced (host mx.dest.example[192.0.2.1] said: 550 5.1.1 "
                        "<ml%d@dest.example>: user unknown (in reply to RCPT TO command))\n"
                        % (i // 60 % 60, i % 60, 1000 + i, i, i, i))
        r = run(b, db, "ingest", "maillog", log)
        check(r.returncode == 0, "ingest maillog exits 0: %s" % r.stderr[-300:])
        got = count(db, "ml%")
        check(got == N, "a %d-line maillog applies %d events (got %d)" % (N, N, got))

        # 2. SendGrid batch through the CLI
        sg = os.path.join(tmp, "sendgrid.json")
        with open(sg, "w") as f:
            f.write(sendgrid_batch("sgc"))
        r = run(b, db, "ingest", "sendgrid", sg)
        check(r.returncode == 0, "ingest sendgrid exits 0: %s" % r.stderr[-300:])
        got = count(db, "sgc%")
        check(got == N, "a %d-event SendGrid batch applies %d (got %d)" % (N, N, got))

        # 3. the same over the webhook
        env = dict(os.environ, BOUNCED_WEBHOOK_TOKEN=TOKEN)
        env.pop("BOUNCED_NOW", None)
        proc = subprocess.Popen([b, "--db", db, "serve", "--smtp", "", "--http", "127.0.0.1:0",
                                 "--spool", os.path.join(tmp, "spool")], stdout=subprocess.PIPE,
                                stderr=open(os.path.join(tmp, "serve.log"), "wb"), env=env)
        addr = None
        deadline = time.time() + 120
        while addr is None and time.time() < deadline:
            line = proc.stdout.readline().decode()
            if not line:
                break
            m = re.search(r"HTTP on ([0-9.]+:\d+)", line)
            addr = m.group(1) if m else None
        check(addr is not None, "serve started with the API")
        host, port = addr.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=600)
        c.request("POST", "/webhooks/sendgrid", body=sendgrid_batch("sgw"),
                  headers={"Content-Type": "application/json", "Authorization": "Bearer " + TOKEN})
        resp = c.getresponse()
        body = resp.read()
        check(resp.status == 200, "webhook answers 200 (got %d %r)" % (resp.status, body[:200]))
        check(json.loads(body)["applied"] == N, "and says it applied %d: %r" % (N, body[:200]))
        got = count(db, "sgw%")
        check(got == N, "a %d-event webhook batch applies %d (got %d)" % (N, N, got))
        proc.terminate()
        proc.wait(60)
        proc = None

        # 4. a real limit fails loudly and applies nothing
        dsn = make_dsn("many0@dest.example", 1)
        extra = "".join("Final-Recipient: rfc822; many%d@dest.example\r\nAction: failed\r\n"
                        "Status: 5.1.1\r\n\r\n" % i for i in range(1, 5))
        dsn = dsn.replace("\r\n--b1\r\nContent-Type: text/rfc822-headers", "\r\n" + extra +
                          "--b1\r\nContent-Type: text/rfc822-headers")
        eml = os.path.join(tmp, "many.eml")
        with open(eml, "w", newline="") as f:
            f.write(dsn)
        r = run(b, db, "process", eml, env=dict(os.environ, BOUNCED_LIMITS_DSN_RECIPIENTS="3"))
        check(r.returncode != 0, "a DSN over limits.dsn_recipients: exit non-zero (got %d)"
              % r.returncode)
        check("dsn_recipients" in r.stderr, "and says which limit: %r" % r.stderr[-300:])
        check(count(db, "many%") == 0, "and nothing of it is applied (not the first 3 only)")
        r = run(b, db, "process", eml)
        check(r.returncode == 0 and count(db, "many%") == 5, "under the default limit all 5")
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        subprocess.call(["rm", "-rf", tmp])
    print("PASS")


if __name__ == "__main__":
    main()
