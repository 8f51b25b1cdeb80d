#!/bin/sh
# Parse throughput (one core): the MIME scanner alone and the whole parse + classify, over
# $BNC_BENCH_CORPUS (make bench sets it to the Sisimai dev set; default examples/).
set -eu
build=${1:?usage: run_parse.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
corpus=${BNC_BENCH_CORPUS:-$here/../examples}
if [ ! -d "$corpus" ]; then
    echo "bench parse: corpus $corpus not found; skipped"
    exit 0
fi
echo "== parse throughput over $corpus (single thread)"
"$build/bench/bench_parse" "$corpus" "${BNC_BENCH_SECONDS:-3}"
