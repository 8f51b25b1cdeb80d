#!/usr/bin/env python3
"""Vendor samples (../shared/samples): every ESP webhook payload and MTA log through
`bounced ingest --dry-run FORMAT FILE`, compared with the expected recipient events
(EXPECTED.tsv: file, recipient, kind). Kinds: hard, soft, complaint, delivered; "other"
rows expect no verdict. Fails below the committed floor; skipped without ../shared."""
import collections
import csv
import json
import os
import subprocess
import sys

FLOOR = 0.93
FORMAT_OF_DIR = {"ses": "ses", "sendgrid": "sendgrid", "mailgun": "mailgun",
                 "postmark": "postmark", "sparkpost": "sparkpost", "powermta": "pmta",
                 "postfix": "maillog"}

src = os.environ.get("BNC_SOURCE_DIR", os.getcwd())
samples = os.environ.get("BNC_SAMPLES_DIR", os.path.join(src, "..", "shared", "samples"))
binary = os.environ.get("BOUNCED_BIN", os.path.join(src, "build", "dev", "bounced"))
exp_path = os.path.join(samples, "EXPECTED.tsv")
if not os.path.exists(exp_path):
    print("vendor samples not found; skipped")
    sys.exit(77)

expected = collections.defaultdict(list)
with open(exp_path, newline="") as fh:
    for row in csv.DictReader(fh, delimiter="\t"):
        expected[row["file"]].append(row)

ok = total = 0
fails = []
for rel, rows in sorted(expected.items()):
    fmt = FORMAT_OF_DIR[rel.split("/")[0]]
    if rel.endswith(".headers.txt"):
        continue  # a companion file (signature headers), not a payload
    out = subprocess.run([binary, "ingest", "--dry-run", fmt, os.path.join(samples, rel)],
                         capture_output=True, text=True, timeout=30)
    if out.returncode not in (0, 1):
        fails.append(f"{rel}: exit {out.returncode}: {out.stderr.strip()}")
        total += len(rows)
        continue
    got = collections.Counter()
    for line in out.stdout.splitlines():
        v = json.loads(line)
        got[(v["recipient"], v["kind"])] += 1
    want = collections.Counter()
    for r in rows:
        if r["kind"] != "other" and r["recipient"]:
            want[(r["recipient"].lower(), r["kind"])] += 1
    # an expected event found with the right kind scores; so does a file that expects
    # nothing and yields nothing
    if not want:
        total += 1
        if not got:
            ok += 1
        else:
            fails.append(f"{rel}: expected no verdict, got {dict(got)}")
        continue
    for key, n in want.items():
        total += n
        hit = min(n, got.get(key, 0))
        ok += hit
        if hit < n:
            fails.append(f"{rel}: expected {key} x{n}, got {dict(got)}")
    extra = sum((got - want).values())
    if extra:
        fails.append(f"{rel}: {extra} unexpected verdicts: {dict(got - want)}")
        total += extra

for f in fails:
    print("MISS", f)
acc = ok / total if total else 0
print(f"vendor samples: {ok}/{total} = {acc:.3f} (floor {FLOOR})")
sys.exit(0 if acc >= FLOOR else 1)
