#!/usr/bin/env python3
"""Suppression export and sync with the ESPs (docs/guards.md). Export: every format is read
back the way the vendor documents it (SES: "address,BOUNCE|COMPLAINT" rows without a header;
SendGrid: an "email" column; Mailgun: address,code,error,created_at with RFC 2822 dates;
Postmark: request bodies of at most 50 {"EmailAddress"}). Sync, against local fakes of the
four APIs (esp_fake.py, http.server on loopback): a dry run changes nothing on either side;
a sync pushes what the ESP lacks (SES gets COMPLAINT for a complaint), imports what only the
ESP had, and a second sync does nothing (idempotent); an address unsuppressed in bounced is
removed at the ESP by the next sync; wrong credentials, a missing configuration and a hostile
Mailgun paging.next URL fail loudly. Python standard library only."""
import csv
import email.utils
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import esp_fake  # noqa: E402

BIN = os.environ.get("BOUNCED_BIN", "build/dev/bounced")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(db, env, *args):
    e = dict(os.environ)
    e.update(env)
    e["BOUNCED_NOW"] = "1790856000"
    return subprocess.run([BIN, "--db", db] + list(args), capture_output=True, text=True,
                          env=e, timeout=120)


def seed(db):
    for a in ("a@x.example", "b@x.example"):
        run(db, {}, "suppress", a)
    # a complaint through the pipeline: an ARF report
    arf = ("From: fbl@isp.example\nTo: fbl@b.example\nSubject: report\nMessage-ID: <r1@isp>\n"
           "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=feedback-report; "
           "boundary=\"b0\"\n\n--b0\nContent-Type: text/plain\n\nabuse report\n--b0\n"
           "Content-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: f/1\n"
           "Version: 1\nOriginal-Rcpt-To: <c@x.example>\n--b0\nContent-Type: message/rfc822\n\n"
           "From: n@shop.example\nTo: c@x.example\nSubject: hi\n\nhi\n--b0--\n")
    p = os.path.join(os.path.dirname(db), "arf.eml")
    open(p, "w").write(arf)
    run(db, {}, "process", p)


def check_exports(db):
    out = run(db, {}, "suppressions", "export", "--format", "ses").stdout
    rows = list(csv.reader(io.StringIO(out)))
    check(len(rows) == 3 and all(len(r) == 2 and r[1] in ("BOUNCE", "COMPLAINT") for r in rows),
          "ses: 3 rows of address,BOUNCE|COMPLAINT, no header (%s)" % rows)
    check(["c@x.example", "COMPLAINT"] in rows, "ses: the complaint is COMPLAINT")
    out = run(db, {}, "suppressions", "export", "--format", "sendgrid").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    check(sorted(r["email"] for r in rows) == ["a@x.example", "b@x.example", "c@x.example"],
          "sendgrid: an email column with the 3 addresses")
    out = run(db, {}, "suppressions", "export", "--format", "mailgun").stdout
    rd = csv.DictReader(io.StringIO(out))
    rows = list(rd)
    check(rd.fieldnames == ["address", "code", "error", "created_at"] and len(rows) == 3,
          "mailgun: the columns address, code, error, created_at (%s)" % rd.fieldnames)
    check(all(email.utils.parsedate_to_datetime(r["created_at"]).timestamp() == 1790856000
              for r in rows), "mailgun: created_at in RFC 2822 form")
    out = run(db, {}, "suppressions", "export", "--format", "postmark").stdout
    bodies = [json.loads(l) for l in out.splitlines()]
    check(len(bodies) == 1 and len(bodies[0]["Suppressions"]) == 3 and
          all(set(x) == {"EmailAddress"} for x in bodies[0]["Suppressions"]),
          "postmark: one request body with 3 {EmailAddress}")
    out = run(db, {}, "suppressions", "export", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    check(len(rows) == 3 and rows[0]["created_at"].endswith("Z"), "csv: bounced's own columns")
    r = run(db, {}, "suppressions", "export", "--format", "nope")
    check(r.returncode == 2, "an unknown format: usage error")


def env_for(base):
    return {"BOUNCED_ESP_SES_URL": base, "BOUNCED_ESP_SES_ACCESS_KEY": esp_fake.SES_KEY,
            "BOUNCED_ESP_SES_SECRET_KEY": "secret", "BOUNCED_ESP_SENDGRID_URL": base,
            "BOUNCED_ESP_SENDGRID_KEY": esp_fake.SG_KEY, "BOUNCED_ESP_MAILGUN_URL": base,
            "BOUNCED_ESP_MAILGUN_DOMAIN": esp_fake.MG_DOMAIN,
            "BOUNCED_ESP_MAILGUN_KEY": esp_fake.MG_KEY, "BOUNCED_ESP_POSTMARK_URL": base,
            "BOUNCED_ESP_POSTMARK_TOKEN": esp_fake.PM_TOKEN}


def preset(state, esp, addrs):
    for a in addrs:
        state.lists[esp][a] = ({"code": "550", "error": "x", "created_at": "Thu, 01 Oct 2026 "
                                "00:00:00 +0000"} if esp == "mailgun" else
                               "BOUNCE" if esp == "ses" else True)


def sync_one(tmp, esp, state, env):
    db = os.path.join(tmp, esp + ".db")
    seed(db)
    # the ESP already has a@ (agreed) and two of its own (one needs a second page)
    preset(state, esp, ["a@x.example", "own1@y.example", "own2@y.example"])
    r = run(db, env, "suppressions", "sync", esp, "--dry-run")
    plan = sorted(r.stdout.split("\n")[:-1])
    check(r.returncode == 0 and plan == ["import\town1@y.example", "import\town2@y.example",
                                         "push\tb@x.example", "push\tc@x.example"],
          "%s: dry run plans 2 pushes and 2 imports (%s %s)" % (esp, plan, r.stderr.strip()))
    check(sorted(state.lists[esp]) == ["a@x.example", "own1@y.example", "own2@y.example"] and
          run(db, {}, "check", "own1@y.example").returncode == 0,
          "%s: the dry run changed neither side" % esp)
    r = run(db, env, "suppressions", "sync", esp)
    check(r.returncode == 0, "%s: sync (%s)" % (esp, r.stderr.strip()))
    check(sorted(state.lists[esp]) == ["a@x.example", "b@x.example", "c@x.example",
                                       "own1@y.example", "own2@y.example"],
          "%s: the ESP has bounced's 3 and its own 2" % esp)
    check(run(db, {}, "check", "own2@y.example").returncode == 1,
          "%s: bounced imported the ESP's own suppressions" % esp)
    if esp == "ses":
        check(state.lists["ses"]["c@x.example"] == "COMPLAINT", "ses: c@ pushed as COMPLAINT")
    n = len(state.log)
    r = run(db, env, "suppressions", "sync", esp)
    writes = [x for x in state.log[n:] if x[0] != "GET"]
    check(r.returncode == 0 and "pushed 0, imported 0, removed 0" in r.stderr and not writes,
          "%s: a second sync changes nothing, no write request (%s)" % (esp, r.stderr.strip()))
    run(db, {}, "unsuppress", "b@x.example")
    run(db, {}, "unsuppress", "own1@y.example")
    r = run(db, env, "suppressions", "sync", esp)
    check("removed 2" in r.stderr and sorted(state.lists[esp]) ==
          ["a@x.example", "c@x.example", "own2@y.example"],
          "%s: unsuppressed in bounced, removed at the ESP (%s)" % (esp, r.stderr.strip()))
    r = run(db, env, "suppressions", "sync", esp)
    check("pushed 0, imported 0, removed 0" in r.stderr, "%s: and then nothing to do" % esp)
    bad = dict(env)
    bad.update({"BOUNCED_ESP_SES_ACCESS_KEY": "AKIDWRONG", "BOUNCED_ESP_SENDGRID_KEY": "no",
                "BOUNCED_ESP_MAILGUN_KEY": "no", "BOUNCED_ESP_POSTMARK_TOKEN": "no"})
    r = run(db, bad, "suppressions", "sync", esp)
    check(r.returncode == 3 and "HTTP 40" in r.stderr,
          "%s: wrong credentials fail loudly (%s)" % (esp, r.stderr.strip()))


tmp = tempfile.mkdtemp(prefix="bnc-esp-sync-")
srv, state, base = esp_fake.start()
try:
    db = os.path.join(tmp, "export.db")
    seed(db)
    check_exports(db)
    env = env_for(base)
    for esp in ("ses", "sendgrid", "mailgun", "postmark"):
        sync_one(tmp, esp, state, env)
    r = run(os.path.join(tmp, "x.db"), {}, "suppressions", "sync", "postmark")
    check(r.returncode == 3 and "not configured" in r.stderr, "no credentials: refused")
    r = run(os.path.join(tmp, "x.db"), env, "suppressions", "sync", "sparkmail")
    check(r.returncode == 2, "an unknown ESP: usage error")
    state.mailgun_next = "http://evil.example/v3/x"
    r = run(os.path.join(tmp, "mailgun.db"), env, "suppressions", "sync", "mailgun")
    check(r.returncode == 3 and "paging.next" in r.stderr,
          "a Mailgun paging.next outside the endpoint is refused (%s)" % r.stderr.strip())
finally:
    srv.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
