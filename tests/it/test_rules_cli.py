#!/usr/bin/env python3
"""`bounced rules test` from the command line: every verdict names what decided it; with
--all, every rule that matched the diagnostic, in rank order, the first being the one that
decided; a user rule (--rules) outranks the built-in ones; a bad user rule is reported with
file:line and the rest still load."""
import json
import os
import subprocess
import sys
import tempfile

src = os.environ.get("BNC_SOURCE_DIR", os.getcwd())
binary = os.environ.get("BOUNCED_BIN", os.path.join(src, "build", "dev", "bounced"))
golden = os.path.join(src, "tests", "corpus", "dsn")

DSN = """From: MAILER-DAEMON@mx.example.net
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=BB

--BB
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; someone@example.com
Action: failed
Status: 5.7.1
Diagnostic-Code: smtp; 550 5.7.606 Access denied, banned sending IP [192.0.2.1]

--BB--
"""

fails = 0


def check(cond, what):
    global fails
    if not cond:
        print("FAIL:", what)
        fails += 1


def run(*args):
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


with tempfile.TemporaryDirectory() as tmp:
    env_cache = os.path.join(tmp, "cache")
    os.environ["XDG_CACHE_HOME"] = env_cache
    msg = os.path.join(tmp, "ms.eml")
    with open(msg, "w") as fh:
        fh.write(DSN)

    rc, out, err = run("rules", "test", "--all", "--json", msg)
    check(rc == 0, f"rules test --all exit {rc}: {err}")
    v = json.loads(out.splitlines()[0])
    check(v["reason"] == "blocked", f"reason {v['reason']}")
    m = v.get("matched", [])
    check(len(m) >= 2, f"several rules match: {m}")
    check(m and "rule:" + m[0]["rule"] == v["decided_by"], "the first match decided")
    lines = [int(x["rule"].rsplit(":", 1)[1]) for x in m]
    check(lines == sorted(lines), f"rank order {lines}")

    # a user rule outranks them; a bad one is reported and the rest load
    mine = os.path.join(tmp, "mine.rules")
    with open(mine, "w") as fh:
        fh.write("no arrow here\nbanned sending IP ==> soft:badreputation\n")
    rc, out, err = run("rules", "test", "--all", "--json", "--rules", mine, msg)
    check(rc == 0, f"with --rules exit {rc}")
    check("mine.rules:1" in err, f"bad rule reported with file:line: {err!r}")
    v = json.loads(out.splitlines()[0])
    check(v["reason"] == "badreputation", f"user rule wins: {v['reason']}")
    check(v["decided_by"] == "rule:mine.rules:2", f"decided_by {v['decided_by']}")
    check(v["matched"][0]["rule"] == mine + ":2", "user rule ranks first")

    # the table form: one line a verdict, then the matches indented
    rc, out, err = run("rules", "test", "--all", msg)
    rows = out.splitlines()
    check(rows and rows[0].split("\t")[2] == "blocked", f"table row {rows[:1]}")
    check(len(rows) > 1 and rows[1].startswith("\tfirst "), f"matches listed: {rows[1:3]}")

    # a whole directory, and a file that is no bounce
    rc, out, err = run("rules", "test", golden)
    check(rc == 0 and out.count("\n") > 20, "the golden cases run")

sys.exit(1 if fails else 0)
