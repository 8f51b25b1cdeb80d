#!/usr/bin/env python3
"""One failure is one event, whichever path brought it, and every path is kept.

Against a running `bounced serve` (SMTP and HTTP on loopback) and `bounced ingest`:
- the same DSN by SMTP, by POST /api/v1/bounces (raw), as a Postfix maillog line (its
  cleanup line names the original Message-ID), as a JSON verdict and relayed by another MTA
  is one event, and the event lists the later paths;
- a DSN without a returned message, sent twice by SMTP (a client's retry: a new spool file
  with its own Received line) and once by the API, is one event;
- three distinct maillog lines of the same second for the same address (three queue ids)
  are three events, and reading the log again adds none;
- two different failed messages to one address on one day stay two events."""

import http.client
import json
import os
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Daemon, check, make_dsn, run_daemon_test  # noqa: E402


def events(d, rcpt):
    return d.q("select id, source from bounce_events where recipient = ?", (rcpt,))


def reports(d, event_id):
    return sorted(r[0] for r in d.q("select source from event_reports where event_id = ?",
                                    (event_id,)))


def post(d, token, path, body, ctype):
    host, port = d.http.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("POST", path, body=body, headers={"Authorization": "Bearer " + token,
                                                "Content-Type": ctype})
    r = c.getresponse()
    doc = json.loads(r.read() or b"{}")
    c.close()
    return r.status, doc


def smtp_send(d, msg):
    s = smtplib.SMTP("127.0.0.1", d.port, timeout=30)
    s.sendmail("", ["bounces@bounce.example"], msg)
    s.quit()


def wait_events(d, rcpt, n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if d.spool_count("new") == 0 and len(events(d, rcpt)) >= n:
            return True
        time.sleep(0.1)
    return False


def ingest(d, name, text):
    path = os.path.join(d.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run([d.bin, "--db", d.db, "ingest", "maillog", path], capture_output=True,
                          text=True, timeout=120)


def same_bounce_every_path(d, token):
    rcpt = "anna@dest.example"
    dsn = make_dsn(rcpt, 1)
    smtp_send(d, dsn)
    check(wait_events(d, rcpt, 1), "the DSN by SMTP is applied")
    st, doc = post(d, token, "/api/v1/bounces", dsn.encode(), "message/rfc822")
    check(st in (200, 201) and doc.get("verdicts") == 0,
          "the same DSN by POST /api/v1/bounces applies nothing new: %d %r" % (st, doc))
    r = ingest(d, "maillog1",
               "2026-11-23T00:58:00+00:00 mx postfix/cleanup[11]: 4F2A1C0B3D: "
               "message-id=<orig-1@sender.example>\n"
               "2026-11-23T00:59:10+00:00 mx postfix/smtp[12]: 4F2A1C0B3D: to=<Anna@Dest.example>, "
               "relay=mx.dest.example[192.0.2.1]:25, delay=1, dsn=5.1.1, status=bounced (host "
               "mx.dest.example[192.0.2.1] said: 550 5.1.1 user unknown)\n")
    check(r.returncode == 0, "ingest maillog exits 0: %s" % r.stderr[-300:])
    st, doc = post(d, token, "/api/v1/bounces",
                   json.dumps({"recipient": "ANNA@dest.example", "status": "5.1.1", "hard": True,
                               "original_message_id": "orig-1@sender.example",
                               "time": 1795395600}).encode(), "application/json")
    check(st in (200, 201) and doc.get("verdicts") == 0,
          "the same failure as a JSON verdict applies nothing new: %d %r" % (st, doc))
    smtp_send(d, make_dsn(rcpt, 1, reporting="relay.example"))
    time.sleep(1)
    check(d.spool_count("new") == 0, "spool drained")
    evs = events(d, rcpt)
    check(len(evs) == 1, "SMTP, API (raw and JSON), maillog and a relayed copy: one event, got %r"
          % (evs,))
    paths = reports(d, evs[0][0])
    check(evs[0][1] == "smtp" and "api" in paths and "log:maillog" in paths,
          "the event keeps every path that reported it: first %s, then %r" % (evs[0][1], paths))
    host, port = d.http.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("GET", "/api/v1/events?recipient=Anna@Dest.example.",
              headers={"Authorization": "Bearer " + token})
    doc = json.loads(c.getresponse().read())
    c.close()
    by = [p["source"] for p in doc["data"][0]["reported_by"]] if doc.get("data") else []
    check(len(doc.get("data", [])) == 1 and by[0] == "smtp" and "log:maillog" in by
          and "api" in by, "GET /api/v1/events lists the paths in reported_by: %r" % (by,))
    n = d.q("select soft_bounce_count, hygiene_status from contacts where email = ?", (rcpt,))
    check(not n or n[0][1] == "BOUNCED_HARD", "the contact (if any) is hard-bounced once")


def retry_without_returned_message(d, token):
    rcpt = "noret@dest.example"
    dsn = make_dsn(rcpt, 2, returned=False)
    smtp_send(d, dsn)
    check(wait_events(d, rcpt, 1), "a DSN without a returned message is applied")
    smtp_send(d, dsn)  # the client's retry: its 250 was lost
    st, doc = post(d, token, "/api/v1/bounces", dsn.replace("\r\n", "\n").encode(),
                   "message/rfc822")
    check(st in (200, 201), "POST /api/v1/bounces of the same DSN (LF line ends) answers %d" % st)
    time.sleep(1)
    check(d.spool_count("new") == 0, "spool drained")
    evs = events(d, rcpt)
    check(len(evs) == 1, "resent by SMTP and posted to the API: one event, got %d" % len(evs))
    check(reports(d, evs[0][0]).count("api") == 1, "the API path is kept with it")


def same_second_log_lines(d):
    rcpt = "same@dest.example"
    text = "".join("Nov 23 01:10:05 mx postfix/smtp[%d]: 9A%04d: to=<%s>, relay=mx.dest.example"
                   "[192.0.2.1]:25, delay=1, dsn=4.2.2, status=deferred (452 4.2.2 mailbox full)\n"
                   % (20 + i, i, rcpt) for i in range(3))
    r = ingest(d, "maillog2", text)
    check(r.returncode == 0, "ingest exits 0: %s" % r.stderr[-300:])
    check(len(events(d, rcpt)) == 3, "three same-second lines of three queue ids: three events, "
          "got %d" % len(events(d, rcpt)))
    r = ingest(d, "maillog3", text)
    check(r.returncode == 0 and len(events(d, rcpt)) == 3, "the same lines again add nothing")


def distinct_failures_stay_distinct(d):
    rcpt = "two@dest.example"
    smtp_send(d, make_dsn(rcpt, 31))
    smtp_send(d, make_dsn(rcpt, 32))
    check(wait_events(d, rcpt, 2), "two failed messages to one address: two events (got %d)"
          % len(events(d, rcpt)))


def scenario(d):
    os.makedirs(d.tmp, exist_ok=True)
    r = subprocess.run([d.bin, "--db", d.db, "token", "create", "--name", "it", "--scopes",
                        "admin"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "token created: %s" % r.stderr)
    token = r.stdout.strip()
    d.start()
    check(d.http is not None, "HTTP listening on %s" % d.http)
    same_bounce_every_path(d, token)
    retry_without_returned_message(d, token)
    same_second_log_lines(d)
    distinct_failures_stay_distinct(d)


if __name__ == "__main__":
    run_daemon_test(Daemon(args=["--http", "127.0.0.1:0"], workers=1), scenario)
