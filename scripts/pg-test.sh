#!/bin/sh
# pg-test.sh - a throwaway PostgreSQL cluster for tests.
#
#   pg-test.sh start DIR   create (first time) and start a cluster in DIR, listening only on
#                          127.0.0.1 on a free port, trust auth, fsync off; create database
#                          bounced_test; print its URL (also written to DIR/url)
#   pg-test.sh stop DIR    stop it (DIR/url is removed); the data stays for the next start
#   pg-test.sh destroy DIR stop it and delete its data
#   pg-test.sh url DIR     print the URL of a running cluster
#
# BNC_PG_PORT fixes the port (a test that stops and starts its own cluster keeps its URL).
# Idempotent: start on a running cluster prints its URL, stop on a stopped one does nothing.
# Needs the Debian `postgresql` package (scripts/deps.sh installs it). When run as root the
# server runs as the `postgres` OS user, which then owns DIR/data.
# With BNC_PG_OPTIONAL=1 (the CTest fixture sets it) a missing PostgreSQL is a warning and
# exit 0, so PG tests skip, except under CI=true where the PostgreSQL leg must run.
set -eu

usage() {
    echo "usage: pg-test.sh start|stop|destroy|url DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
db=bounced_test

die() {
    echo "pg-test.sh: $*" >&2
    rm -f "$dir/url" 2>/dev/null || true
    exit 1
}

# Highest installed server version (BNC_PG_BINDIR overrides).
bindir=${BNC_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)}
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
    msg="PostgreSQL server not installed (no /usr/lib/postgresql/*/bin/initdb): install the \
Debian package 'postgresql' (scripts/deps.sh does)"
    if [ "$cmd" = stop ]; then
        exit 0
    fi
    if [ "${BNC_PG_OPTIONAL:-0}" = 1 ] && [ "${CI:-}" != true ]; then
        echo "pg-test.sh: warning: $msg; PostgreSQL tests will be skipped" >&2
        mkdir -p "$dir" && rm -f "$dir/url"
        exit 0
    fi
    die "$msg"
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# The server's files live in DIR unless the postgres user cannot reach it (a parent such as
# /root is not searchable): then in a directory under /tmp whose path DIR/datadir records.
pgdir=$dir
if [ -f "$dir/datadir" ]; then
    pgdir=$(cat "$dir/datadir")
elif [ "$cmd" = start ] && [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir" 2>/dev/null; then
        pgdir=$(mktemp -d /tmp/bnc-pg.XXXXXX)
        chown postgres: "$pgdir"
        printf '%s\n' "$pgdir" >"$dir/datadir"
    fi
fi
data="$pgdir/data"
log="$pgdir/server.log"

# Run a server-side command as the postgres user when we are root (initdb and postgres
# refuse to run as root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

running() {
    [ -f "$data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

current_port() {
    # line 4 of postmaster.pid is the port
    sed -n 4p "$data/postmaster.pid" 2>/dev/null
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

psql_q() {
    "$bindir/psql" -X -q -t -A -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

print_url() {
    url="postgresql://postgres@127.0.0.1:$1/$db"
    printf '%s\n' "$url" >"$dir/url"
    printf '%s\n' "$url"
}

case "$cmd" in
start)
    if ! [ -f "$data/PG_VERSION" ]; then
        as_pg "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
            >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            die "initdb failed in $data"
        }
        cat >>"$data/postgresql.conf" <<EOF
# pg-test.sh: throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 128MB
EOF
        printf 'host all all 127.0.0.1/32 trust\n' >"$data/pg_hba.conf"
        if [ "$(id -u)" -eq 0 ]; then
            chown postgres: "$data/postgresql.conf" "$data/pg_hba.conf"
        fi
    fi
    if ! running; then
        tries=0
        while :; do
            port=${BNC_PG_PORT:-$(free_port)}
            if as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
                -o "-p $port" start >/dev/null 2>&1; then
                break
            fi
            tries=$((tries + 1))
            if [ $tries -ge 3 ]; then
                tail -n 20 "$log" >&2 2>/dev/null || true
                die "cannot start PostgreSQL in $data (see $log)"
            fi
        done
    fi
    port=$(current_port)
    [ -n "$port" ] || die "cannot read the port from $data/postmaster.pid"
    i=0
    until psql_q "$port" "SELECT 1" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 50 ] || die "PostgreSQL on 127.0.0.1:$port does not answer"
        sleep 0.2
    done
    if [ "$(psql_q "$port" "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
        "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db" 2>/dev/null ||
            [ "$(psql_q "$port" "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ] ||
            die "cannot create database $db"
    fi
    print_url "$port"
    ;;
stop)
    rm -f "$dir/url"
    if running; then
        as_pg "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null ||
            die "cannot stop PostgreSQL in $data"
    fi
    ;;
destroy)
    rm -f "$dir/url"
    if running; then
        as_pg "$bindir/pg_ctl" -D "$data" -m immediate -w -t 60 stop >/dev/null || true
    fi
    rm -rf "$data" "$log" "$dir/initdb.log"
    if [ "$pgdir" != "$dir" ]; then
        rm -rf "$pgdir"
        rm -f "$dir/datadir"
    fi
    ;;
url)
    running || die "no PostgreSQL running in $data"
    print_url "$(current_port)"
    ;;
*)
    usage
    ;;
esac
