#!/bin/sh
# Store benchmarks (one core, SQLite in a temporary directory): `process` messages/s over
# $BNC_BENCH_CORPUS repeated (one commit per message, and group commit), and `check`
# lookups/s with $BNC_BENCH_CONTACTS contacts (default 1,000,000), single and bulk.
# Targets (issue 5): process >= 5,000 messages/s; check >= 100,000 lookups/s.
set -eu
build=${1:?usage: run_store.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
corpus=${BNC_BENCH_CORPUS:-$here/../examples}
if [ ! -d "$corpus" ]; then
    echo "bench store: corpus $corpus not found; skipped"
    exit 0
fi
if [ ! -x "$build/bench/bench_store" ]; then
    echo "bench store: $build/bench/bench_store not built; skipped"
    exit 0
fi
echo "== store: process into SQLite and check lookups (single thread)"
"$build/bench/bench_store" "$corpus" "${BNC_BENCH_SECONDS:-3}" "${BNC_BENCH_CONTACTS:-1000000}"
