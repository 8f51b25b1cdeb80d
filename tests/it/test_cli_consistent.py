#!/usr/bin/env python3
"""The CLI applies bounces as `serve` does:
- `process` on an mbox applies every message in it (split as `scan mbox:` splits it), and a
  scan of the same mbox afterwards finds only duplicates (before: `process` read the first
  message only);
- `process`, `scan` and `ingest` classify with the rules stored by `rules add`, exactly as
  `serve` does (before: only the built-in and rules.d rules);
- `contacts set` refuses a hygiene field name and `contacts import` does not store such a
  column as an attribute (before: both became attributes);
- token names are unique among live tokens, and not numbers."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Cli, check, make_dsn  # noqa: E402

MARK = "zebra quota marker 4242"


def main():
    c = Cli("bnc-clic-")
    run, write = c.run, c.write
    q = c.q
    try:
        # --- mbox: every message, deduplicated with scan ---
        box = write("box.mbox", "".join("From MAILER-DAEMON Mon Nov 23 01:00:00 2026\n"
                                        + make_dsn("mb%d@dest.example" % i, 700 + i).replace(
                                            "\r\n", "\n") + "\n" for i in range(3)))
        r = run("process", box)
        check(r.returncode == 0 and "messages: 3 (new 3" in r.stdout,
              "process on a 3-message mbox applies 3: " + r.stdout + r.stderr)
        r = run("scan", "--quiet", "mbox:" + box)
        check(r.returncode == 0, "scan of the same mbox exits 0: " + r.stderr)
        n = q("select count(*) from bounce_events where recipient like 'mb%'")[0][0]
        check(n == 3, "scan after process adds nothing: %d events" % n)
        r = run("process", box)
        check("duplicates 3" in r.stdout, "process again: 3 duplicates: " + r.stdout)

        # --- stored rules in process, scan and ingest ---
        r = run("rules", "add", "%s ==> soft:blocked" % MARK)
        check(r.returncode == 0, "rules add: " + r.stderr)
        diag = "550 5.1.1 %s" % MARK
        r = run("process", write("p.eml", make_dsn("rp@dest.example", 801, diag=diag)))
        check(r.returncode == 0, "process: " + r.stderr)
        box2 = write("box2.mbox", "From MAILER-DAEMON Mon Nov 23 01:00:00 2026\n"
                     + make_dsn("rs@dest.example", 802, diag=diag).replace("\r\n", "\n"))
        r = run("scan", "--quiet", "mbox:" + box2)
        check(r.returncode == 0, "scan: " + r.stderr)
        r = run("ingest", "maillog", write("ml", "2026-11-23T01:06:00+00:00 mx postfix/smtp[9]: "
                                           "7C1D2E3F4B: to=<ri@dest.example>, relay=none, "
                                           "delay=1, dsn=5.1.1, status=bounced (%s)\n" % diag))
        check(r.returncode == 0, "ingest: " + r.stderr)
        for rcpt, cmd in (("rp", "process"), ("rs", "scan"), ("ri", "ingest")):
            row = q("select reason, decided_by from bounce_events where recipient = ?",
                    (rcpt + "@dest.example",))
            check(row and row[0][0] == "blocked" and "db:rules:" in row[0][1],
                  "%s classifies with the stored rule: %r" % (cmd, row))
            r = run("check", rcpt + "@dest.example")
            check(r.returncode == 0, "%s: a sender-side verdict suppresses nothing" % cmd)

        # --- hygiene field names are not attributes ---
        r = run("contacts", "import", write("c.csv", "email,hygiene_status,Soft_Bounce_Count,plan\n"
                                            "x@d.example,ACTIVE,0,gold\n"))
        check(r.returncode == 0 and "managed by bounced" in r.stderr,
              "import says the hygiene columns are not imported: " + r.stderr)
        attrs = json.loads(run("contacts", "show", "x@d.example").stdout)["attributes"]
        check(attrs == {"plan": "gold"}, "only the real attribute is stored: %r" % attrs)
        r = run("contacts", "set", "x@d.example", "hygiene_status=ACTIVE")
        check(r.returncode == 2 and "managed by bounced" in r.stderr,
              "contacts set hygiene_status=... is refused: %d %s" % (r.returncode, r.stderr))
        r = run("contacts", "set", "x@d.example", "city=Köln")
        check(r.returncode == 0, "contacts set of an attribute still works")

        # --- token names ---
        check(run("token", "create", "--name", "ci", "--scopes", "admin").returncode == 0,
              "token ci created")
        r = run("token", "create", "--name", "ci", "--scopes", "contact:read")
        check(r.returncode != 0 and "already named" in r.stderr,
              "a second live token named ci is refused: " + r.stderr)
        check(run("token", "create", "--name", "123", "--scopes", "admin").returncode == 2,
              "a numeric token name is refused")
        check(run("token", "revoke", "ci").returncode == 0, "ci revoked")
        check(run("token", "create", "--name", "ci", "--scopes", "admin").returncode == 0,
              "the name is free again once revoked")
    finally:
        c.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
