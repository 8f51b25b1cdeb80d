#!/usr/bin/env python3
"""Addresses compare the way mail does: "anna@bücher.example", "anna@xn--bcher-kva.example"
and "ANNA@BÜCHER.EXAMPLE." are one contact.

- a second CSV import in another form updates the contact of the first one;
- a DSN naming the contact in upper-case A-labels with a trailing dot hard-bounces it, and
  every form then checks as suppressed;
- a maillog line naming "BOB@STRAßE.DE." lands on bob@straße.de, while bob@strasse.de (a
  different domain under UTS #46 non-transitional processing) stays sendable.
(Before: one contact per form, and the bounced one stayed sendable under its other forms.)"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_harness import Cli, check, make_dsn  # noqa: E402


def main():
    c = Cli("bnc-idn-")
    run, write = c.run, c.write
    try:
        check(run("contacts", "import", write("c1.csv", "email,plan\nanna@bücher.example,gold\n"
                                          "Bob@Straße.DE,free\n")).returncode == 0, "import 1")
        check(run("contacts", "import", write("c2.csv", "email,city\n"
                                          "ANNA@XN--BCHER-KVA.EXAMPLE.,Köln\n")).returncode == 0,
              "import 2")
        out = run("contacts", "export").stdout
        check(out.lower().count("anna@") == 1, "two imports in two forms: one contact:\n" + out)
        show = run("contacts", "show", "Anna@Bücher.Example").stdout
        check("gold" in show and "Köln" in show, "the second import merged into the first: " + show)

        r = run("process", write("dsn.eml", make_dsn("ANNA@XN--BCHER-KVA.EXAMPLE.", 1)))
        check(r.returncode == 0, "process the DSN: " + r.stderr)
        for a in ("anna@bücher.example", "anna@xn--bcher-kva.example", "ANNA@BÜCHER.EXAMPLE."):
            check(run("check", a).returncode == 1, "%s is suppressed after the hard bounce" % a)
        show = run("contacts", "show", "anna@xn--bcher-kva.example").stdout
        check("BOUNCED_HARD" in show, "the imported contact is BOUNCED_HARD: " + show)

        r = run("ingest", "maillog", write("ml", "2026-11-23T01:06:00+00:00 mx postfix/smtp[9]: "
                                           "7C1D2E3F4B: to=<BOB@STRAßE.DE.>, relay=none, delay=1, "
                                           "dsn=5.1.1, status=bounced (user unknown)\n"))
        check(r.returncode == 0, "ingest maillog: " + r.stderr)
        check(run("check", "bob@straße.de").returncode == 1,
              "the log line's upper-case, trailing-dot form hit bob@straße.de")
        check(run("check", "bob@strasse.de").returncode == 0,
              "bob@strasse.de (another domain) stays sendable")
        out = run("contacts", "export").stdout
        check(out.count("@") == 2, "two contacts in all:\n" + out)
    finally:
        c.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
