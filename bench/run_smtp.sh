#!/bin/sh
# End-to-end SMTP benchmark: DSNs/s accepted (250 sent after the spool fsync) and processed
# (parsed, classified, committed to SQLite) over loopback. Usage: run_smtp.sh BUILD_DIR
# Sizes: BNC_BENCH_SMTP_PROCS, BNC_BENCH_SMTP_CONNS, BNC_BENCH_SMTP_MSGS (see smtp_bench.py).
set -eu
build=${1:-build/release}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$build/bounced" ]; then
    echo "   run_smtp: no $build/bounced" >&2
    exit 1
fi
BOUNCED_BIN=$(cd "$build" && pwd)/bounced exec python3 "$here/smtp_bench.py"
