#!/usr/bin/env python3
"""Webhook authentication as each vendor documents it, against a real `bounced serve`:
SES over SNS with message signatures checked against an operator-placed certificate (a
test CA made with the openssl command: a signed notification applies, a changed one, one
whose SigningCertURL is not an SNS host, or one with only the shared token is refused);
SubscriptionConfirmation stored and shown by `bounced webhook list`, confirmed by
`bounced webhook confirm`; Mailgun signatures required even with a Bearer token, a replayed
token refused, legacy form-encoded hooks verified and applied; Postmark basic auth and
SparkPost's custom header. Standard library plus the openssl command; exit 77 without it."""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

from it_util import check, failures, post_json

BIN = os.environ.get("BOUNCED_BIN", "build/dev/bounced")
TOKEN = "wh-shared-token-42"
MG_KEY = "key-mailgun-auth-test"


if shutil.which("openssl") is None:
    print("openssl command not found; skipped")
    sys.exit(77)

tmp = tempfile.mkdtemp(prefix="bnc-wh-auth-")
key = os.path.join(tmp, "sns.key")
cert = os.path.join(tmp, "sns.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                "-out", cert, "-days", "2", "-subj", "/CN=sns.us-east-1.amazonaws.com"],
               check=True, capture_output=True)


def sns_sign(msg, version="2"):
    keys = (["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
            if msg["Type"] == "Notification" else
            ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"])
    text = "".join("%s\n%s\n" % (k, msg[k]) for k in keys if k in msg)
    p = subprocess.run(["openssl", "dgst", "-sha256" if version == "2" else "-sha1", "-sign",
                        key], input=text.encode(), capture_output=True, check=True)
    msg["SignatureVersion"] = version
    msg["Signature"] = base64.b64encode(p.stdout).decode()
    msg.setdefault("SigningCertURL",
                   "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem")
    return msg


def ses_bounce(rcpt):
    return {"Type": "Notification", "MessageId": "m-" + rcpt, "Timestamp": "2026-01-02T03:04:05Z",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:bounces",
            "Message": json.dumps({"notificationType": "Bounce", "bounce": {
                "bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": rcpt, "status": "5.1.1",
                                       "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": "2026-01-02T03:04:05.000Z"}, "mail": {"messageId": "0102-x"}})}


class Serve:
    def __init__(self, env):
        self.db = os.path.join(tmp, "b%d.db" % len(os.listdir(tmp)))
        e = dict(os.environ, BOUNCED_SMTP_LISTEN="", BOUNCED_HTTP_LISTEN="127.0.0.1:0",
                 BOUNCED_SPOOL_DIR=os.path.join(tmp, "spool"), BOUNCED_HTTP_THREADS="2",
                 BOUNCED_SPOOL_WORKERS="1", BOUNCED_LOG_LEVEL="info")
        e.update(env)
        self.errpath = self.db + ".err"
        self.p = subprocess.Popen([BIN, "--db", self.db, "serve"], stdout=subprocess.PIPE,
                                  stderr=open(self.errpath, "w"), env=e, text=True)
        self.port = None
        for line in self.p.stdout:
            m = re.search(r"HTTP on \S+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            sys.exit("serve did not start: " + open(self.errpath).read())

    def post(self, path, body, headers=None):
        return post_json("127.0.0.1", self.port, path, body, headers)

    def cli(self, *args):
        return subprocess.run([BIN, "--db", self.db] + list(args), capture_output=True,
                              text=True, timeout=60)

    def suppressed(self, addr):
        return self.cli("check", addr).returncode == 1

    def stop(self):
        self.p.terminate()
        rc = self.p.wait(timeout=30)
        check(rc == 0, "serve stops cleanly (exit %d%s)" % (rc, "" if rc == 0 else
                                                           ": " + open(self.errpath).read()[-2000:]))


def sns_part():
    s = Serve({"BOUNCED_WEBHOOK_TOKEN": TOKEN, "BOUNCED_WEBHOOK_SNS_CERTIFICATE": cert})
    try:
        body = json.dumps(sns_sign(ses_bounce("sns-signed@example.org")))
        st, r = s.post("/webhooks/ses", body)
        check(st == 200 and r.get("applied") == 1, "SNS notification signed (SHA256): 200 %s" % r)
        check(s.suppressed("sns-signed@example.org"), "its hard bounce is applied")
        st, r = s.post("/webhooks/ses", json.dumps(sns_sign(ses_bounce("sns-v1@example.org"),
                                                            "1")))
        check(st == 200 and r.get("applied") == 1, "SignatureVersion 1 (SHA1): 200")
        m = sns_sign(ses_bounce("sns-tampered@example.org"))
        m["Message"] = m["Message"].replace("sns-tampered", "someone-else")
        st, _ = s.post("/webhooks/ses", json.dumps(m))
        check(st == 401 and not s.suppressed("someone-else@example.org"),
              "a changed message is refused (%d)" % st)
        m = sns_sign(ses_bounce("sns-evil@example.org"))
        m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem"
        st, _ = s.post("/webhooks/ses", json.dumps(m))
        check(st == 401, "a SigningCertURL that is not an SNS host is refused (%d)" % st)
        st, _ = s.post("/webhooks/ses", json.dumps(ses_bounce("sns-token@example.org")),
                       {"Authorization": "Bearer " + TOKEN})
        check(st == 401, "with a certificate configured the token alone is not enough (%d)" % st)
        url = ("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:"
               "aws:sns:us-east-1:123456789012:bounces&Token=abc123")
        sub = sns_sign({"Type": "SubscriptionConfirmation", "MessageId": "sub-1",
                        "Token": "abc123", "TopicArn": "arn:aws:sns:us-east-1:123456789012:bounces",
                        "Message": "You have chosen to subscribe", "SubscribeURL": url,
                        "Timestamp": "2026-01-02T03:04:05Z"})
        st, _ = s.post("/webhooks/ses", json.dumps(sub))
        check(st == 200, "signed SubscriptionConfirmation: 200 (%d)" % st)
        time.sleep(0.2)
        check(url in open(s.errpath).read(), "its SubscribeURL is logged")
        out = s.cli("webhook", "list").stdout
        check(url in out and "pending" in out, "bounced webhook list shows it pending")
        sid = out.split("\t")[0] if out else "0"
        r = s.cli("webhook", "confirm", "--done", sid)
        check(r.returncode == 0, "bounced webhook confirm --done marks it (%s)" % r.stderr.strip())
        check(s.cli("webhook", "list").stdout == "" and
              "confirmed" in s.cli("webhook", "list", "--all").stdout,
              "no longer pending; listed as confirmed with --all")
        evil = sns_sign(dict(sub, MessageId="sub-2",
                             SubscribeURL="https://attacker.example/?Action=ConfirmSubscription"))
        s.post("/webhooks/ses", json.dumps(evil))
        check("attacker" not in s.cli("webhook", "list", "--all").stdout,
              "a SubscribeURL off the SNS hosts is not stored")
    finally:
        s.stop()


def mailgun_sig(ts, token, key=MG_KEY):
    return hmac.new(key.encode(), (str(ts) + token).encode(), hashlib.sha256).hexdigest()


def mailgun_part():
    s = Serve({"BOUNCED_WEBHOOK_TOKEN": TOKEN, "BOUNCED_WEBHOOK_MAILGUN_SIGNING_KEY": MG_KEY})
    try:
        now = int(time.time())
        body = json.dumps({"signature": {"timestamp": str(now), "token": "tok-replay",
                                         "signature": mailgun_sig(now, "tok-replay")},
                           "event-data": {"event": "failed", "severity": "permanent",
                                          "recipient": "mg-json@example.org",
                                          "delivery-status": {"code": 550}}})
        st, _ = s.post("/webhooks/mailgun", body)
        check(st == 200, "Mailgun signed JSON: 200 (%d)" % st)
        st, r = s.post("/webhooks/mailgun", body)
        check(st == 401 and "replay" in json.dumps(r), "the same token again: 401 replay (%d)" % st)
        forged = json.dumps({"signature": {"timestamp": str(now), "token": "tok-2",
                                           "signature": "0" * 64},
                             "event-data": {"event": "failed", "severity": "permanent",
                                            "recipient": "mg-forged@example.org"}})
        st, _ = s.post("/webhooks/mailgun", forged, {"Authorization": "Bearer " + TOKEN})
        check(st == 401 and not s.suppressed("mg-forged@example.org"),
              "a bad Mailgun signature is refused even with the Bearer token (%d)" % st)
        form = urllib.parse.urlencode({
            "event": "bounced", "recipient": "mg-legacy@example.org", "code": "550",
            "error": "5.1.1 The email account that you tried to reach does not exist",
            "Message-Id": "<legacy-1@sender.example>", "timestamp": str(now),
            "token": "tok-legacy", "signature": mailgun_sig(now, "tok-legacy")})
        st, r = s.post("/webhooks/mailgun", form,
                       {"Content-Type": "application/x-www-form-urlencoded"})
        check(st == 200 and r.get("applied") == 1, "legacy form-encoded bounce: 200 %s" % r)
        check(s.suppressed("mg-legacy@example.org"), "the legacy bounce is applied")
        bad = form.replace("tok-legacy", "tok-other")
        st, _ = s.post("/webhooks/mailgun", bad,
                       {"Content-Type": "application/x-www-form-urlencoded"})
        check(st == 401, "a legacy form with a signature that does not match: 401 (%d)" % st)
    finally:
        s.stop()


def postmark_sparkpost_part():
    s = Serve({"BOUNCED_WEBHOOK_TOKEN": TOKEN, "BOUNCED_WEBHOOK_POSTMARK_BASIC_AUTH": "pm:s3cret",
               "BOUNCED_WEBHOOK_SPARKPOST_HEADER": "X-Bounced-Secret: sp-s3cret"})
    try:
        pm = json.dumps({"RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1,
                         "Email": "pm-gone@example.org", "Details": "smtp;550 5.1.1 no such user",
                         "BouncedAt": "2026-01-02T03:04:05Z", "MessageID": "pm-1"})
        basic = "Basic " + base64.b64encode(b"pm:s3cret").decode()
        st, _ = s.post("/webhooks/postmark", pm, {"Authorization": basic})
        check(st == 200 and s.suppressed("pm-gone@example.org"), "Postmark basic auth: 200")
        wrong = "Basic " + base64.b64encode(b"pm:wrong").decode()
        st1, _ = s.post("/webhooks/postmark", pm, {"Authorization": wrong})
        st2, _ = s.post("/webhooks/postmark", pm, {"Authorization": "Bearer " + TOKEN})
        check(st1 == 401 and st2 == 401, "Postmark wrong password or token only: 401 (%d %d)"
              % (st1, st2))
        sp = json.dumps([{"msys": {"message_event": {
            "type": "bounce", "bounce_class": "10", "rcpt_to": "sp-gone@example.org",
            "raw_reason": "550 5.1.1 user unknown", "timestamp": "1700000000",
            "message_id": "sp-1"}}}])
        st, _ = s.post("/webhooks/sparkpost", sp, {"X-Bounced-Secret": "sp-s3cret"})
        check(st == 200 and s.suppressed("sp-gone@example.org"), "SparkPost custom header: 200")
        st1, _ = s.post("/webhooks/sparkpost", sp, {"X-Bounced-Secret": "nope"})
        st2, _ = s.post("/webhooks/sparkpost", sp, {"Authorization": "Bearer " + TOKEN})
        check(st1 == 401 and st2 == 401, "SparkPost wrong header or token only: 401 (%d %d)"
              % (st1, st2))
    finally:
        s.stop()


try:
    sns_part()
    mailgun_part()
    postmark_sparkpost_part()
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("%d failures" % len(failures))
sys.exit(1 if failures else 0)
