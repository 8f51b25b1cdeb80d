#!/bin/sh
# Log follower benchmark (one thread, SQLite in a temporary directory): a Postfix maillog
# and a PowerMTA accounting CSV followed to their end, every line through parse, classify,
# policy and the store with its saved position: maillog lines/s, PowerMTA records/s.
set -eu
build=${1:?usage: run_follow.sh BUILD_DIR}
if [ ! -x "$build/bench/bench_follow" ]; then
    echo "bench follow: $build/bench/bench_follow not built; skipped"
    exit 0
fi
"$build/bench/bench_follow" "${BNC_BENCH_FOLLOW_BOUNCES:-50000}"
