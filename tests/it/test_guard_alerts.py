#!/usr/bin/env python3
"""Spike alerts end to end (docs/guards.md): a real `bounced serve`, send counts posted to
POST /api/v1/sends, ARF complaints posted to POST /api/v1/bounces, and a local receiver
(http.server on loopback) that refuses the first delivery with 500. The campaign whose
complaint rate crosses guard.spike_complaint_bp produces exactly one alert, delivered on the
retry, signed with HMAC-SHA256 over "<timestamp>.<body>" and verified here with the secret;
it asks for the campaign to be paused; a campaign under the threshold raises nothing. Then,
through the CLI with a fixed clock: a receiver that is down puts an alert on the dead-letter
list after alerts.max_attempts, with the back-off between tries, and `alerts retry` queues it
again. Python standard library only; exit 77 when this build has no serve."""
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ.get("BOUNCED_BIN", "build/dev/bounced")
SECRET = "alert-secret-0123456789"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


class Receiver(http.server.BaseHTTPRequestHandler):
    got = []          # (headers, body) of every request
    refuse_first = 1  # answer 500 to this many requests first

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        Receiver.got.append((dict(self.headers), body))
        if Receiver.refuse_first > 0:
            Receiver.refuse_first -= 1
            self.send_response(500)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def arf(i, campaign, now):
    d = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(now))
    return ("From: fbl@isp.example\r\nTo: fbl@bounces.shop.example\r\nSubject: FW: news\r\n"
            "Date: %s\r\nMessage-ID: <arf-%s-%d@isp.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b0\"\r\n"
            "\r\n--b0\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n\r\n--b0\r\n"
            "Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
            "User-Agent: isp-fbl/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: <r%d-%s@isp.example>\r\n"
            "Arrival-Date: %s\r\n\r\n--b0\r\nContent-Type: message/rfc822\r\n\r\n"
            "From: News <news@shop.example>\r\nTo: r%d-%s@isp.example\r\nSubject: news\r\n"
            "Message-ID: <c-%s-%d@shop.example>\r\nX-Campaign-ID: %s\r\n\r\nHello.\r\n"
            "\r\n--b0--\r\n" % (d, campaign, i, i, campaign, d, i, campaign, campaign, i,
                                campaign)).encode()


def start_serve(tmp, env_extra):
    """serve on an ephemeral port: its stdout goes to a file, read until it names the port"""
    env = dict(os.environ)
    env.update({"BOUNCED_SMTP_LISTEN": "", "BOUNCED_HTTP_LISTEN": "127.0.0.1:0",
                "BOUNCED_SPOOL_DIR": os.path.join(tmp, "spool"), "BOUNCED_HTTP_THREADS": "2",
                "BOUNCED_SPOOL_WORKERS": "1", "BOUNCED_LOG_LEVEL": "warn"})
    env.update(env_extra)
    out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    p = subprocess.Popen([BIN, "--db", os.path.join(tmp, "b.db"), "serve"],
                         stdout=open(out_path, "w"), stderr=open(err_path, "w"), env=env)
    for _ in range(300):
        m = re.search(r"HTTP on (127\.0\.0\.1:\d+)", open(out_path).read())
        if m:
            return p, m.group(1)
        if p.poll() is not None:
            break
        time.sleep(0.2)
    p.kill()
    text = open(err_path).read()
    if "not part of this build" in text:
        print("skip: serve is not part of this build")
        sys.exit(77)
    print("serve did not start:\n" + text)
    sys.exit(1)


def post(addr, path, body, token, ctype="application/json"):
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=60)
    c.request("POST", path, body=body, headers={"Authorization": "Bearer " + token,
                                                "Content-Type": ctype})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def signed_ok(headers, body):
    ts = headers.get("X-Bounced-Timestamp", "")
    want = "v1=" + hmac.new(SECRET.encode(), ts.encode() + b"." + body,
                            hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, headers.get("X-Bounced-Signature", ""))


def live_leg(tmp):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/hook" % srv.server_address[1]
    db = os.path.join(tmp, "b.db")
    r = subprocess.run([BIN, "--db", db, "token", "create", "--name", "sender", "--scopes",
                        "bounce:write,admin"], capture_output=True, text=True)
    token = r.stdout.strip()
    p, addr = start_serve(tmp, {"BOUNCED_ALERTS_WEBHOOK_URL": url,
                                "BOUNCED_ALERTS_WEBHOOK_SECRET": SECRET,
                                "BOUNCED_ALERTS_RETRY_BASE": "1s"})
    try:
        now = int(time.time())
        st, body = post(addr, "/api/v1/sends", json.dumps([
            {"campaign": "spring-sale", "count": 2000},
            {"campaign": "autumn-news", "count": 5000}]), token)
        check(st == 200 and json.loads(body)["accepted"] == 2, "POST /api/v1/sends: 2 accepted")
        st, _ = post(addr, "/api/v1/sends", json.dumps({"campaign": 5, "count": 1}), token)
        check(st == 400, "a sends entry with a campaign that is no string: 400 (got %d)" % st)
        st, _ = post(addr, "/api/v1/sends", json.dumps([{"campaign": "x", "count": 1}] * 1001),
                     token)
        check(st == 413, "1001 sends entries in one request: 413, refused whole (got %d)" % st)
        # 3 complaints of 2000 sends = 0.15% > 0.1%; 1 of 5000 = 0.02%
        for i in range(3):
            st, _ = post(addr, "/api/v1/bounces", arf(i, "spring-sale", now), token,
                         "message/rfc822")
            check(st == 201, "complaint %d of spring-sale accepted: 201 (%d)" % (i, st))
        st, _ = post(addr, "/api/v1/bounces", arf(0, "autumn-news", now), token, "message/rfc822")
        deadline = time.time() + 60
        while time.time() < deadline and len(Receiver.got) < 2:
            time.sleep(0.5)
        time.sleep(17)  # one more evaluation and delivery round: nothing new may arrive
        check(len(Receiver.got) == 2, "the receiver got 2 requests: refused once, then "
              "retried (got %d)" % len(Receiver.got))
        if len(Receiver.got) >= 2:
            (h1, b1), (h2, b2) = Receiver.got[0], Receiver.got[1]
            check(b1 == b2, "the retry delivers the same body")
            check(signed_ok(h2, b2), "the delivered alert's signature verifies with the secret")
            check(not signed_ok(h2, b2 + b" "), "a changed body does not verify")
            a = json.loads(b2)
            check(a.get("scope") == "campaign" and a.get("key") == "spring-sale" and
                  a.get("metric") == "complaint_rate", "the alert is spring-sale's complaint "
                  "rate (%s)" % a)
            check(a.get("value") == 15 and a.get("threshold") == 10 and
                  a.get("unit") == "basis_points", "15 basis points against 10")
            check(a.get("request") == "pause" and a.get("campaign") == "spring-sale",
                  "the alert asks to pause the campaign")
            check(a.get("counts", {}).get("sends") == 2000, "the alert carries the send count")
        host, port = addr.rsplit(":", 1)
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        c.request("GET", "/api/v1/alerts", headers={"Authorization": "Bearer " + token})
        doc = json.loads(c.getresponse().read())
        c.close()
        states = [(x["key"], x["state"], x["attempts"]) for x in doc["data"]]
        check(states == [("spring-sale", "delivered", 2)],
              "GET /api/v1/alerts: one alert, delivered on the second attempt (%s)" % states)
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        c.request("GET", "/metrics")
        metrics = c.getresponse().read().decode()
        c.close()
        check('bounced_alerts_total{type="spike",metric="complaint_rate"} 1' in metrics,
              "/metrics counts the alert")
    finally:
        p.terminate()
        p.wait(timeout=30)
        srv.shutdown()


def dead_leg(tmp):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    db = os.path.join(tmp, "d.db")
    env = dict(os.environ)
    env.update({"BOUNCED_ALERTS_WEBHOOK_URL": "http://127.0.0.1:%d/hook" % port,
                "BOUNCED_ALERTS_MAX_ATTEMPTS": "3", "BOUNCED_ALERTS_RETRY_BASE": "30s",
                "BOUNCED_ALERTS_SYSLOG": "no"})
    t0 = 1790856000

    def b(t, *args):
        e = dict(env)
        e["BOUNCED_NOW"] = str(t)
        return subprocess.run([BIN, "--db", db] + list(args), capture_output=True, text=True,
                              env=e, timeout=60)
    mdir = os.path.join(tmp, "arf")
    os.makedirs(mdir)
    for i in range(10):  # no sends posted: 10 complaints per hour is the absolute threshold
        open(os.path.join(mdir, "c%d.eml" % i), "wb").write(arf(i, "winter", t0 - 30))
    b(t0, "process", mdir)
    r = b(t0, "alerts", "run")
    check("raised 3" in r.stdout and "retried 3" in r.stdout,
          "10 complaints without sends: campaign, sending and recipient domain alert, "
          "delivery fails (%s)" % r.stdout.strip())
    r = b(t0 + 10, "alerts", "run")
    check("retried 0" in r.stdout and "dead 0" in r.stdout, "no retry before the back-off (30s)")
    b(t0 + 31, "alerts", "run")  # attempt 2; next wait 60s
    r = b(t0 + 31 + 61, "alerts", "run")  # attempt 3 = max: dead
    check(r.returncode == 1 and "dead 3" in r.stdout,
          "third failure: 3 alerts on the dead-letter list, exit 1 (%s)" % r.stdout.strip())
    r = b(t0 + 100, "alerts", "list", "--state", "dead")
    rows = [l.split("\t") for l in r.stdout.splitlines()[1:]]
    check(len(rows) == 3 and all(x[8] == "3" and x[9] != "-" for x in rows), "alerts list --state dead: 3, 3 attempts, "
          "the error kept")
    r = b(t0 + 100, "alerts", "retry", rows[0][0] if rows else "1")
    check(r.returncode == 0, "alerts retry ID queues a dead alert again")
    r = b(t0 + 100, "alerts", "retry", "999")
    check(r.returncode == 1, "alerts retry of an alert that is not dead: exit 1")
    r = b(t0 + 200, "alerts", "run")
    check("raised 0" in r.stdout, "the cooldown: the same alerts are not raised again")


tmp = tempfile.mkdtemp(prefix="bnc-guard-alerts-")
try:
    live_leg(tmp)
    dead_leg(tmp)
    err = open(os.path.join(tmp, "err")).read()
    check("Sanitizer" not in err and "runtime error" not in err,
          "serve's stderr has no sanitizer report")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
