#!/bin/sh
# `cmake --install` of this build into a staging root (DESTDIR, the configured prefix): the binary, the man pages,
# the rules, the unit (ExecStart naming the installed binary), logrotate, the sample config
# in /etc/bounced and the state directory /var/lib/bounced; a second install keeps an edited
# /etc/bounced/bounced.conf and refreshes bounced.conf.sample.
set -eu
BUILD=${BNC_BUILD_DIR:?BNC_BUILD_DIR not set}
D=$(mktemp -d /tmp/bnc-install-XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM
fail() {
    echo "FAIL: $*"
    exit 1
}
# the prefix the build was configured with (the unit's ExecStart is written at configure time)
P=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
[ -n "$P" ] || fail "no CMAKE_INSTALL_PREFIX in $BUILD/CMakeCache.txt"
DESTDIR="$D" cmake --install "$BUILD" >"$D.log" 2>&1 || fail "cmake --install: $(cat "$D.log")"
rm -f "$D.log"
for f in "$P/bin/bounced" "$P/share/man/man1/bounced.1" "$P/share/man/man5/bounced.conf.5" \
    "$P/share/bounced/default.rules" "$P/lib/systemd/system/bounced.service" \
    /etc/logrotate.d/bounced /etc/bounced/bounced.conf /etc/bounced/bounced.conf.sample \
    "$P/share/doc/bounced/deploy.md" "$P/share/doc/bounced/grafana-bounced.json"; do
    [ -f "$D/$f" ] || fail "$f not installed"
done
[ -d "$D/var/lib/bounced" ] && [ -d "$D/etc/bounced/rules.d" ] || fail "state or rules.d directory missing"
grep -q "^ExecStart=$P/bin/bounced --config /etc/bounced/bounced.conf serve\$" \
    "$D$P/lib/systemd/system/bounced.service" || fail "the unit does not start $P/bin/bounced"
"$D$P/bin/bounced" --config "$D/etc/bounced/bounced.conf" config show >/dev/null ||
    fail "the installed config does not load"
echo "ok: everything installed under $D"
echo "# edited by the operator" >>"$D/etc/bounced/bounced.conf"
DESTDIR="$D" cmake --install "$BUILD" >/dev/null 2>&1 || fail "second install"
grep -q "edited by the operator" "$D/etc/bounced/bounced.conf" || fail "a reinstall overwrote bounced.conf"
cmp -s "$D/etc/bounced/bounced.conf.sample" "$(dirname "$0")/../../dist/bounced.conf" ||
    fail "bounced.conf.sample is not the shipped one"
echo "ok: a reinstall keeps the edited bounced.conf"
echo PASS
