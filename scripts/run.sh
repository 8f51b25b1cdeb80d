#!/bin/sh
# `make run`: parse the example bounces shipped in examples/ and print a summary of the
# verdicts by reason and kind. (Switches to `bounced serve` once the daemon exists.)
set -eu
bin=${1:-build/dev/bounced}
echo "bounced: parsing examples/ with $bin"
"$bin" parse --format text examples/
echo
"$bin" parse examples/ | python3 -c '
import collections, json, sys
by_reason, by_kind = collections.Counter(), collections.Counter()
for line in sys.stdin:
    v = json.loads(line)
    by_reason[v.get("reason", "?")] += 1
    by_kind[v.get("kind", "?")] += 1
print("verdicts by kind:  ", ", ".join(f"{k}={n}" for k, n in by_kind.most_common()))
print("verdicts by reason:", ", ".join(f"{k}={n}" for k, n in by_reason.most_common()))
'
