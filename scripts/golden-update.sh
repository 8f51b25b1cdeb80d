#!/bin/sh
# Rewrite tests/corpus/dsn/*.expect from the current `bounced parse --dump` output.
# Review the diff before committing: every change is a behaviour change.
# usage: scripts/golden-update.sh [BOUNCED_BIN]   (default build/dev/bounced)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/dev/bounced}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
cd "$top/tests/corpus/dsn"
n=0
for eml in *.eml; do
    [ -e "$eml" ] || continue
    "$bin" parse --dump "$eml" > "${eml%.eml}.expect"
    n=$((n + 1))
done
echo "golden-update: wrote $n expect files; review with: git diff tests/corpus/dsn"
