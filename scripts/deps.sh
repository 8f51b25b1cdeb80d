#!/bin/sh
# Install the Debian packages bounced builds and tests with (DESIGN §3). Idempotent: does
# nothing when everything is present. Needs root (or sudo) on Debian 12.
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev python3
libsqlite3-dev libpq-dev libmicrohttpd-dev libevent-dev libjansson-dev libvectorscan-dev
libinih-dev libcurl4-openssl-dev libssl-dev libidn2-dev zlib1g-dev libcmocka-dev postgresql sqlite3 curl
libsystemd-dev"
# Optional tools used by tests and benchmarks when present (wrk, redis-benchmark, Sisimai;
# Chromium for the dashboard's browser tests in tests/web; the package test:
# dpkg-buildpackage, debhelper, lintian, systemd-sysusers/-tmpfiles).
OPT_PKGS="wrk redis-tools redis-server libsisimai-perl postfix swaks chromium fonts-dejavu-core
dpkg-dev debhelper lintian fakeroot systemd"

missing=""
for p in $PKGS ${BNC_DEPS_OPTIONAL:+$OPT_PKGS}; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "deps.sh: missing packages:$missing (run as root)" >&2
        exit 1
    fi
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# postfix asks questions unless preseeded; bounced's tests configure it themselves.
if echo "$missing" | grep -q postfix; then
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
