#!/bin/sh
# run_http.sh BUILD_DIR: throughput of the suppression check over HTTP with keep-alive
# (GET /api/v1/check/{address} under wrk) against `bounced serve` on a fresh SQLite store,
# and redis-benchmark GET against a redis-server on loopback in the same run, so the ratio
# says how close the check path is to a bare in-memory key-value lookup on this machine.
#
# Environment: BNC_BENCH_SECONDS (default 10), BNC_BENCH_CONNS (default 64),
# BNC_BENCH_ADDRS (distinct addresses checked, default 2000; a tenth of them suppressed).
# Needs wrk (and redis-server + redis-benchmark for the comparison); says so when missing.
set -u
build=${1:-build/release}
bin=$build/bounced
secs=${BNC_BENCH_SECONDS:-10}
conns=${BNC_BENCH_CONNS:-64}
naddr=${BNC_BENCH_ADDRS:-2000}

if [ ! -x "$bin" ]; then
    echo "   run_http: no $bin (build first)"
    exit 1
fi
if ! command -v wrk >/dev/null 2>&1; then
    echo "   run_http: wrk is not installed (BNC_DEPS_OPTIONAL=1 scripts/deps.sh); skipped"
    exit 0
fi

tmp=$(mktemp -d /tmp/bnc-bench-http.XXXXXX)
srv_pid=
redis_pid=
cleanup() {
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- bounced serve, HTTP only on loopback ---
BOUNCED_SMTP_LISTEN=127.0.0.1:0 BOUNCED_HTTP_LISTEN=127.0.0.1:0 \
    BOUNCED_SPOOL_DIR="$tmp/spool" BOUNCED_LOG_LEVEL=warn \
    "$bin" --db "$tmp/b.db" serve >"$tmp/serve.out" 2>"$tmp/serve.err" &
srv_pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'admin API token' "$tmp/serve.out" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
http=$(sed -n 's/.*HTTP on \([^ ,]*\).*/\1/p' "$tmp/serve.out" | head -1)
admin=$(sed -n 's/.*admin API token[^:]*: \(bnc_[0-9a-f]*\).*/\1/p' "$tmp/serve.out" | head -1)
if [ -z "$http" ] || [ "$http" = off ] || [ -z "$admin" ]; then
    echo "   run_http: serve did not start with HTTP:"
    cat "$tmp/serve.out" "$tmp/serve.err" | sed 's/^/   /'
    exit 1
fi
token=$("$bin" --db "$tmp/b.db" token create --name bench --scopes contact:read 2>/dev/null)

# seed: naddr contacts, every tenth suppressed (through the API, as a sender would)
python3 - "$http" "$admin" "$naddr" <<'EOF'
import http.client, json, sys
host, port = sys.argv[1].rsplit(":", 1)
c = http.client.HTTPConnection(host, int(port))
h = {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"}
for i in range(int(sys.argv[3])):
    c.request("POST", "/api/v1/contacts", json.dumps({"email": "user%d@example.com" % i,
              "attributes": {"n": i}}), h)
    c.getresponse().read()
    if i % 10 == 0:
        c.request("POST", "/api/v1/suppressions", json.dumps({"address": "user%d@example.com" % i,
                  "reason": "userunknown"}), h)
        c.getresponse().read()
EOF

cat >"$tmp/check.lua" <<EOF
-- a different address per request: user0..user$((naddr - 1)), plus unknown ones
local n = 0
request = function()
    n = n + 1
    return wrk.format("GET", "/api/v1/check/user" .. (n % $((naddr + naddr / 4))) .. "@example.com")
end
EOF
out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$tmp/check.lua" \
      -H "Authorization: Bearer $token" "http://$http/" 2>&1)
rps=$(printf '%s\n' "$out" | sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p')
p50=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*50%[[:space:]]*\([^[:space:]]*\).*/\1/p')
p99=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*99%[[:space:]]*\([^[:space:]]*\).*/\1/p')
errs=$(printf '%s\n' "$out" | sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p')
echo "   GET /api/v1/check/{address} keep-alive, $conns connections, ${secs}s: ${rps:-?} req/s" \
     "(p50 ${p50:-?}, p99 ${p99:-?}, non-2xx ${errs:-0})"

# --- redis-server + redis-benchmark GET, same machine, same run ---
if command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; then
    rport=$(free_port)
    redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --logfile "$tmp/redis.log" >/dev/null 2>&1 &
    redis_pid=$!
    i=0
    while [ $i -lt 50 ] && ! redis-cli -p "$rport" ping >/dev/null 2>&1; do
        sleep 0.1
        i=$((i + 1))
    done
    rout=$(redis-benchmark -p "$rport" -t get -c "$conns" -n $((secs * 50000)) -q 2>&1 | tr '\r' '\n' | grep 'GET:' | tail -1)
    rrps=$(printf '%s\n' "$rout" | sed -n 's/.*GET: \([0-9.]*\) requests per second.*/\1/p')
    echo "   redis-benchmark -t get, $conns connections: ${rrps:-?} req/s"
    if [ -n "$rps" ] && [ -n "$rrps" ]; then
        awk -v a="$rps" -v b="$rrps" 'BEGIN { printf "   ratio check/redis GET: %.2f\n", a / b }'
    fi
else
    echo "   redis-server/redis-benchmark not installed: no comparison"
fi
if [ -n "$rps" ]; then
    awk -v a="$rps" 'BEGIN { if (a + 0 < 20000) { print "   below the 20000 req/s target"; exit 1 } }'
fi
