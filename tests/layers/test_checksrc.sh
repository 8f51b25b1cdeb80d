#!/bin/sh
# test_checksrc.sh SOURCE_DIR: scripts/checksrc.sh's include-direction check (DESIGN §2) fails
# on a deliberately wrong include and passes without it. Works on a copy of the tree (src,
# include, tests/unit, tests/fuzz, scripts), planting one include at a time:
#   1. up a layer:        src/parse/charset.c includes "store/store.h"
#   2. sideways:          src/api/json.c includes "ingest/webhook.h" (siblings)
#   3. up, from a test:   tests/unit/test_dsn.c (layer: parse) includes "classify/classify.h"
# and checks that each fails with the layer message naming the file, and the copy passes
# again once the include is removed. The same for a planted call that reads a file or prints
# in a layer that does no I/O (DESIGN §1):
#   4. src/classify/rules_db.c calls fopen(), 5. src/parse/dsn.c calls fprintf()
set -u
src=${1:?usage: test_checksrc.sh SOURCE_DIR}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bnc-checksrc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/tests"
cp -R "$src/src" "$src/include" "$src/scripts" "$tmp/"
cp -R "$src/tests/unit" "$src/tests/fuzz" "$tmp/tests/"
fail=0

if ! out=$(sh "$tmp/scripts/checksrc.sh" 2>&1); then
    echo "FAIL: the unmodified copy does not pass:"
    echo "$out"
    exit 1
fi
echo "ok   the unmodified tree passes"

plant_text() { # FILE TEXT MESSAGE NAMED WHAT: append TEXT to FILE; checksrc must fail with
    # MESSAGE on a line "FILE:N: ...NAMED", and pass again once TEXT is gone
    cp "$tmp/$1" "$tmp/$1.orig"
    printf '%s\n' "$2" >> "$tmp/$1"
    if out=$(sh "$tmp/scripts/checksrc.sh" 2>&1); then
        echo "FAIL: $5: checksrc passed with $1 holding $2"
        fail=1
    elif ! echo "$out" | grep -q "$3" || ! echo "$out" | grep -qF "$4" ||
         ! echo "$out" | grep -q "^$1:[0-9]*:"; then
        echo "FAIL: $5: checksrc failed, but not naming $1 and $4:"
        echo "$out"
        fail=1
    else
        echo "ok   $5: $(echo "$out" | grep "^$1:")"
    fi
    mv "$tmp/$1.orig" "$tmp/$1"
    if ! sh "$tmp/scripts/checksrc.sh" >/dev/null 2>&1; then
        echo "FAIL: $5: the tree does not pass again after removing the planted text"
        fail=1
    fi
}

plant() { # FILE INCLUDE WHAT
    plant_text "$1" "#include \"$2\"" "include goes up a layer" " includes $2" "$3"
}

plant_io() { # FILE CALL WHAT
    plant_text "$1" "static void planted(void) { (void)$2; }" "I/O or printing in parse/" \
        "(void)$2" "$3"
}

plant src/parse/charset.c store/store.h "up a layer"
plant src/api/json.c ingest/webhook.h "sideways between siblings"
plant tests/unit/test_dsn.c classify/classify.h "up a layer from a test"
plant_io src/classify/rules_db.c 'fopen("x.rules", "r")' "a file opened in classify"
plant_io src/parse/dsn.c 'fprintf(stderr, "x")' "printing in parse"
exit $fail
