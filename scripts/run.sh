#!/bin/sh
# `make run`: start bounced on this machine the way a first-time user would.
#   - SQLite store ./var/bounced.db, spool ./var/spool (created on first start)
#   - SMTP on 127.0.0.1:2525 (accepts bounces for any domain in this demo setup)
#   - HTTP API + dashboard on 127.0.0.1:8025; an admin token is printed on first start
# The example bounces in examples/ are processed first, so the dashboard has data.
# Builds without the daemon fall back to parsing examples/ and printing a summary.
set -eu
bin=${1:-build/dev/bounced}
[ $# -gt 0 ] && shift
mkdir -p var
if "$bin" serve --help >/dev/null 2>&1; then
    echo "bounced: processing the example bounces in examples/ into ./var/bounced.db"
    "$bin" process examples/ || true
    echo
    exec "$bin" serve "$@"
fi
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
