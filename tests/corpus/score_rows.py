#!/usr/bin/env python3
"""score_rows.py - score `bounced parse` JSON lines against an EXPECTED.tsv of the in-repo
corpora (tests/corpus/realmta), so that their ratchet runs in a clone that has no
../shared/tools/score.py.

    score_rows.py RESULTS.jsonl EXPECTED.tsv

EXPECTED.tsv columns: file, index, recipient, status, replycode, reason, hard. A result row
pairs with an expected row of the same file and recipient (case-insensitive). Printed, one
figure a line, in the shape run_corpus.sh reads ("NAME VALUE (OK/N)"):

    recall                 expected rows that have a result row
    status                 same enhanced status code
    reason                 same reason
    hard                   same hard/soft
    status+reason+hard     all three
    policy                 same action of the hygiene policy (suppress/strike/ignore/review)
    suppressions           dead addresses not suppressed, live ones suppressed

The action follows docs/internals/hygiene.md and REASONS.md: a hard verdict or a complaint
suppresses; a reason that names nothing (onhold, undefined) goes to review; a soft failure of
the address or of its mail system is a strike; a refusal of our sender, host or content is
recorded and ignored.
"""
import csv
import json
import sys

# soft reasons that are the recipient side's problem (the address, its mailbox, its server,
# the path to it): one strike each
ADDRESS_SIDE = frozenset(
    "userunknown hostunknown hasmoved notaccept mailboxfull suspend expired systemerror "
    "systemfull networkerror mailererror filtered exceedlimit suppressed".split())
REVIEW = frozenset(("onhold", "undefined", ""))


def action(reason, hard):
    if hard or reason == "feedback":
        return "suppress"
    if reason in REVIEW:
        return "review"
    if reason in ADDRESS_SIDE:
        return "strike"
    return "ignore"


def load_results(path):
    by_file = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                sys.exit(f"{path}:{n}: not JSON: {exc}")
            by_file.setdefault(row.get("file", ""), []).append(row)
    return by_file


def pair(expected, results):
    """The result row of the same recipient, each result row used once."""
    want = expected["recipient"].lower()
    for i, row in enumerate(results):
        if str(row.get("recipient", "")).lower() == want:
            return results.pop(i)
    return None


def frac(ok, n):
    return f"{ok / n:.4f} ({ok}/{n})" if n else "n/a (0/0)"


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: score_rows.py RESULTS.jsonl EXPECTED.tsv")
    results = load_results(argv[1])
    counts = dict.fromkeys(("recall", "status", "reason", "hard", "srh", "policy"), 0)
    missed = false = n = 0
    with open(argv[2], encoding="utf-8", newline="") as fh:
        for exp in csv.DictReader(fh, delimiter="\t"):
            n += 1
            got = pair(exp, results.get(exp["file"], []))
            exp_hard = exp["hard"].strip() == "1"
            exp_act = action(exp["reason"].strip(), exp_hard)
            if got is None:
                missed += exp_act == "suppress"
                continue
            counts["recall"] += 1
            same_status = got.get("status", "") == exp["status"]
            same_reason = got.get("reason", "") == exp["reason"]
            same_hard = bool(got.get("hard")) == exp_hard
            counts["status"] += same_status
            counts["reason"] += same_reason
            counts["hard"] += same_hard
            counts["srh"] += same_status and same_reason and same_hard
            got_act = action(got.get("reason", ""), bool(got.get("hard")))
            counts["policy"] += got_act == exp_act
            missed += exp_act == "suppress" and got_act != "suppress"
            false += got_act == "suppress" and exp_act != "suppress"
    print(f"expected rows          {n}")
    for key, label in (("recall", "recall"), ("status", "status"), ("reason", "reason"),
                       ("hard", "hard"), ("srh", "status+reason+hard"), ("policy", "policy")):
        print(f"{label:22s} {frac(counts[key], n)}")
    print(f"{'suppressions':22s} {missed} missed, {false} false")


if __name__ == "__main__":
    main(sys.argv)
