#!/usr/bin/env python3
"""POST /webhooks/{esp} against a real `bounced serve`: refused without webhooks configured
(403) or without credentials (401), accepted with the shared token (Bearer and Basic) or a
valid Mailgun signature, a replayed or forged Mailgun signature refused, an unknown vendor
404, a malformed payload 400, a retried delivery counted once, and the verdicts landing in
the store (check says not sendable). Python standard library only; exit 77 when this build
has no serve or HTTP API."""
import base64
import hashlib
import hmac
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from it_util import post_json

BIN = os.environ.get("BOUNCED_BIN", "build/dev/bounced")
TOKEN = "wh-secret-0123456789"
MG_KEY = "key-test-signing"
failures = []
checks = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    checks.append(what)
    if not cond:
        failures.append(what)


class Serve:
    def __init__(self, extra_env):
        self.dir = tempfile.mkdtemp(prefix="bnc-wh-it-")
        self.db = os.path.join(self.dir, "b.db")
        env = dict(os.environ)
        env.update({"BOUNCED_SMTP_LISTEN": "", "BOUNCED_HTTP_LISTEN": "127.0.0.1:0",
                    "BOUNCED_SPOOL_DIR": os.path.join(self.dir, "spool"),
                    "BOUNCED_HTTP_THREADS": "2", "BOUNCED_SPOOL_WORKERS": "1",
                    "BOUNCED_LOG_LEVEL": "warn"})
        env.update(extra_env)
        self.err = open(os.path.join(self.dir, "err"), "w")
        self.p = subprocess.Popen([BIN, "--db", self.db, "serve"], stdout=subprocess.PIPE,
                                  stderr=self.err, env=env, text=True)
        lines = queue.Queue()

        def reader():
            for line in self.p.stdout:
                lines.put(line)
            lines.put(None)
        threading.Thread(target=reader, daemon=True).start()
        self.http = None
        deadline = time.time() + 60
        while time.time() < deadline and not self.http:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if self.p.poll() is not None:
                    break
                continue
            if line is None:
                break
            m = re.search(r"HTTP on (\S+)", line)
            if m and m.group(1) != "off":
                self.http = m.group(1)
        if not self.http:
            self.stop()
            with open(os.path.join(self.dir, "err")) as f:
                err = f.read()
            if "not part of this build" in err:
                print("skip: serve is not part of this build")
                sys.exit(77)
            print("serve did not start:\n" + err)
            sys.exit(1)
        host, port = self.http.rsplit(":", 1)
        self.host, self.port = host, int(port)

    def post(self, path, body, headers=None):
        return post_json(self.host, self.port, path, body, headers)

    def cli(self, *args):
        return subprocess.run([BIN, "--db", self.db] + list(args), capture_output=True,
                              text=True, timeout=60)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


SES = json.dumps({"Type": "Notification", "Message": json.dumps({
    "notificationType": "Bounce",
    "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
               "bouncedRecipients": [{"emailAddress": "gone@example.org", "status": "5.1.1",
                                      "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
               "timestamp": "2026-01-02T03:04:05.000Z"},
    "mail": {"messageId": "0102-abc"}})})


def mailgun_body(ts, key=MG_KEY, rcpt="mg-gone@example.org"):
    token = "tok%d" % ts
    sig = hmac.new(key.encode(), (str(ts) + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps({"signature": {"timestamp": str(ts), "token": token, "signature": sig},
                       "event-data": {"event": "failed", "severity": "permanent",
                                      "recipient": rcpt, "delivery-status": {
                                          "code": 550, "message": "No Such User Here"}}})


# 1. webhooks not configured: refused, nothing applied
s = Serve({})
try:
    st, body = s.post("/webhooks/ses", SES, {"Authorization": "Bearer anything"})
    check(st == 403, "no webhook.token and no vendor key: 403 (got %d)" % st)
finally:
    s.stop()

# 2. configured
s = Serve({"BOUNCED_WEBHOOK_TOKEN": TOKEN, "BOUNCED_WEBHOOK_MAILGUN_SIGNING_KEY": MG_KEY})
try:
    st, _ = s.post("/webhooks/ses", SES)
    check(st == 401, "no credentials: 401 (got %d)" % st)
    st, _ = s.post("/webhooks/ses", SES, {"Authorization": "Bearer wrong"})
    check(st == 401, "wrong token: 401 (got %d)" % st)
    check(s.cli("check", "gone@example.org").returncode == 0,
          "nothing applied from refused calls")
    st, body = s.post("/webhooks/ses", SES, {"Authorization": "Bearer " + TOKEN})
    check(st == 200 and body.get("applied") == 1, "SES with Bearer token: 200, 1 applied (%d %s)"
          % (st, body))
    st, body = s.post("/webhooks/ses", SES, {"Authorization": "Bearer " + TOKEN})
    check(st == 200 and body.get("duplicates") == 1 and body.get("applied") == 0,
          "the same delivery retried: counted once (%s)" % body)
    r = s.cli("check", "gone@example.org")
    check(r.returncode == 1, "check gone@example.org after the SES hard bounce: suppressed")
    basic = base64.b64encode(("sns:" + TOKEN).encode()).decode()
    st, _ = s.post("/webhooks/sendgrid", json.dumps([{"email": "sg@example.org",
                   "event": "spamreport", "timestamp": 1700000000}]),
                   {"Authorization": "Basic " + basic})
    check(st == 200, "SendGrid with Basic auth (password = token): 200 (got %d)" % st)
    check(s.cli("check", "sg@example.org").returncode == 1, "complaint suppresses sg@example.org")
    now = int(time.time())
    st, body = s.post("/webhooks/mailgun", mailgun_body(now))
    check(st == 200 and body.get("applied") == 1, "Mailgun signed, no token: 200 (%d)" % st)
    st, _ = s.post("/webhooks/mailgun", mailgun_body(now, key="key-forged", rcpt="x@example.org"))
    check(st == 401, "Mailgun forged signature: 401 (got %d)" % st)
    st, _ = s.post("/webhooks/mailgun", mailgun_body(now - 7200, rcpt="old@example.org"))
    check(st == 401, "Mailgun signature two hours old (replay): 401 (got %d)" % st)
    st, _ = s.post("/webhooks/nosuchesp", "{}", {"Authorization": "Bearer " + TOKEN})
    check(st == 404, "unknown vendor: 404 (got %d)" % st)
    st, body = s.post("/webhooks/postmark", "{not json", {"Authorization": "Bearer " + TOKEN})
    check(st == 400 and "error" in body, "malformed payload: 400 with an error (got %d)" % st)
    st, _ = s.post("/webhooks/ses", json.dumps({"Type": "SubscriptionConfirmation",
                   "SubscribeURL": "https://example.invalid/confirm"}),
                   {"Authorization": "Bearer " + TOKEN})
    check(st == 200, "SNS subscription handshake: 200, nothing fetched (got %d)" % st)
finally:
    s.stop()

print("%d passed, %d failed" % (len(checks) - len(failures), len(failures)))
sys.exit(1 if failures else 0)
