#!/usr/bin/env python3
"""`bounced rules lint`: a rules file with one duplicate, one shadowed and one never-matching
rule (and a bad line, and a [...] class listing a letter outside ASCII) gets each reported on its own line, with the right file:line, and exit
1; a clean file exits 0; an unreadable file exits 2; the built-in rules are linted too, and
default.rules itself has no finding."""
import os
import subprocess
import sys
import tempfile

src = os.environ.get("BNC_SOURCE_DIR", os.getcwd())
binary = os.environ.get("BOUNCED_BIN", os.path.join(src, "build", "dev", "bounced"))

BAD = """# lint test
mailbox is full ==> mailboxfull
/(quota|limit)\\s+exceeded/i ==> mailboxfull
Mailbox   IS full ==> soft:mailboxfull
storage quota exceeded ==> mailboxfull
postmaster@example.com ==> blocked
host unknown ==> nosuchreason
/(user|recipient)\\s+unknown/ ==> userunknown
unknown user ==> hard:userunknown
"""

CLEAN = """# clean
mailbox is full ==> mailboxfull
/(user|recipient)\\s+unknown/ ==> userunknown
/user\\s+(is\\s+)?over\\s+quota/ ==> mailboxfull
user over limit ==> mailboxfull
"""

fails = 0


def check(cond, what):
    global fails
    if not cond:
        print("FAIL:", what)
        fails += 1


def run(*args):
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


with tempfile.TemporaryDirectory() as tmp:
    os.environ["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
    bad = os.path.join(tmp, "bad.rules")
    clean = os.path.join(tmp, "clean.rules")
    with open(bad, "w") as fh:
        fh.write(BAD)
    with open(clean, "w") as fh:
        fh.write(CLEAN)

    rc, out, err = run("rules", "lint", "--no-builtin", bad)
    check(rc == 1, f"bad file: exit {rc}: {err}")
    lines = [l for l in out.splitlines() if l.startswith(bad + ":")]
    kinds = {}
    for l in lines:
        where, kind = l.split(": ")[0], l.split(": ")[1]
        kinds.setdefault(kind, []).append(int(where.rsplit(":", 1)[1]))
    check(kinds.get("duplicate") == [4], f"duplicate at line 4: {kinds}")
    check("the same pattern as %s:2" % bad in out, "duplicate names line 2:\n" + out)
    check("verdicts agree" in [l for l in lines if ": duplicate: " in l][0],
          "the duplicate's verdicts agree")
    check(kinds.get("shadowed") == [5], f"shadowed at line 5: {kinds}")
    check("the earlier %s:3" % bad in out, "shadowed names line 3:\n" + out)
    check(kinds.get("never-matching") == [6], f"never-matching at line 6: {kinds}")
    check("e-mail address" in out, "never-matching explains the blanked address")
    check(kinds.get("error") == [7], f"error at line 7: {kinds}")
    check("unknown user ==> hard:userunknown" not in out, "a rule with other words is not shadowed")
    check(len(lines) == 4, f"four findings, got {len(lines)}:\n{out}")
    check("7 rules: 1 errors, 1 duplicates, 1 shadowed, 1 never-matching" in out,
          "summary line:\n" + out)

    # a class that lists a letter outside ASCII matches a byte of it, never the letter; the
    # same letters written as alternatives are fine
    accents = os.path.join(tmp, "accents.rules")
    with open(accents, "w", encoding="utf-8") as fh:
        fh.write("/buz[oó]n\\s+lleno/i ==> mailboxfull\n/buz(o|ó)n\\s+inexistente/i ==> userunknown\n")
    rc, out, err = run("rules", "lint", "--no-builtin", accents)
    check(rc == 1 and f"{accents}:1: error: " in out and f"{accents}:2:" not in out,
          f"a byte class is an error, alternatives are not: exit {rc}:\n{out}{err}")

    rc, out, err = run("rules", "lint", "--no-builtin", clean)
    check(rc == 0, f"clean file: exit {rc}:\n{out}{err}")
    check("4 rules: 0 errors, 0 duplicates, 0 shadowed, 0 never-matching" in out,
          "clean summary:\n" + out)

    rc, out, err = run("rules", "lint", "--no-builtin", os.path.join(tmp, "missing.rules"))
    check(rc == 2, f"missing file: exit {rc}")

    rc, out, err = run("rules", "lint", "--help")
    check(rc == 0 and "never-matching" in out, f"--help: exit {rc}")

    # the built-in set, with a user file before it: the user rules come first
    rc, out, err = run("rules", "lint", "-v", clean)
    check(rc in (0, 1), f"built-in lint: exit {rc}: {err}")
    check(" rules: " in out.splitlines()[-1], "built-in lint prints a summary")
    check(not any(l.startswith(clean + ":") and ": note: " not in l for l in out.splitlines()),
          "the clean file has no findings next to the built-in rules:\n" + out)

    # the built-in default.rules alone: nothing duplicate, shadowed or never-matching
    rc, out, err = run("rules", "lint")
    last = out.splitlines()[-1] if out.splitlines() else ""
    check(rc == 0 and ": 0 errors, 0 duplicates, 0 shadowed, 0 never-matching" in last,
          f"default.rules lints clean: exit {rc}:\n{out}{err}")

print("rules lint:", "ok" if fails == 0 else f"{fails} failures")
sys.exit(1 if fails else 0)
