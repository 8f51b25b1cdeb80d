#!/bin/sh
# checksrc: a grep over src/ for what the house style bans (STYLE §17).
#  - unsafe or unbounded libc calls
#  - raw allocation outside core/xmalloc.c and core/arena.c
#  - // comments
#  - iconv_open outside parse/charset.c
#  - an include that goes up a layer (DESIGN §2): core <- parse <- classify <- hygiene <-
#    store <- pipeline <- (ingest, api) <- server <- cli; a file of src/<dir> (or a test
#    whose header says " * layer: <dir>") may include headers of <dir> and of the layers
#    below it, not of a layer above nor of a sibling (ingest and api do not include each
#    other). tests/layers/test_checksrc.sh proves the check fails on a planted include.
#  - file I/O or printing in parse/, classify/ or hygiene/ (DESIGN §1: they do no I/O, and
#    the library never prints; rule files and the compiled cache are core/load.c's, errors
#    go through the ctx's message)
set -u
cd "$(dirname "$0")/.."
fail=0
files=$(git ls-files 'src/*.c' 'src/*.h' 'include/*.h' 2>/dev/null)
[ -n "$files" ] || files=$(find src include -name '*.[ch]')

report() {
    echo "checksrc: $1"
    fail=1
}

banned='(^|[^_a-zA-Z0-9.>])(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atof|sscanf|strncpy|strncat|alloca|tmpnam|mktemp|system)[[:space:]]*\('
out=$(grep -nE "$banned" $files | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*)' || true)
[ -z "$out" ] || report "banned function:
$out"

alloc='(^|[^_a-zA-Z0-9.>])(malloc|calloc|realloc|strdup|strndup)[[:space:]]*\('
out=$(grep -nE "$alloc" $(echo "$files" | grep -vE 'src/core/(xmalloc|arena)\.c') \
      | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*)' || true)
[ -z "$out" ] || report "raw allocation (use xmalloc/arena):
$out"

out=$(grep -nE '(^|[^:"])//' $files | grep -vE '"[^"]*//[^"]*"' | grep -vE "'[^']*//" || true)
[ -z "$out" ] || report "// comment:
$out"

out=$(grep -n 'iconv_open' $(echo "$files" | grep -v 'src/parse/charset.c') || true)
[ -z "$out" ] || report "iconv_open outside parse/charset.c:
$out"

io='(^|[^_a-zA-Z0-9.>])(fopen|fdopen|freopen|open|openat|opendir|read|write|pread|pwrite|stat|lstat|fstat|mkdir|mkstemp|unlink|rename|remove|getenv|popen|system|printf|fprintf|vfprintf|puts|fputs|fputc|putchar|perror|dir_names)[[:space:]]*\('
out=$(grep -nE "$io" $(echo "$files" | grep -E '^src/(parse|classify|hygiene)/') /dev/null \
      | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*)' || true)
[ -z "$out" ] || report "I/O or printing in parse/, classify/ or hygiene/ (DESIGN §1):
$out"

tests=$(git ls-files 'tests/unit/*.c' 'tests/fuzz/*.c' 2>/dev/null)
[ -n "$tests" ] || tests=$(find tests/unit tests/fuzz -name '*.c' 2>/dev/null)
out=$(awk '
BEGIN {
    n = split("core parse classify hygiene store pipeline ingest api server cli", l, " ")
    for (i = 1; i <= n; i++) { rank[l[i]] = i }
    rank["api"] = rank["ingest"]; rank["server"] = rank["ingest"] + 1
    rank["cli"] = rank["server"] + 1
}
FNR == 1 {
    own = ""
    if (FILENAME ~ /^src\//) { split(FILENAME, p, "/"); own = p[2] }
}
own == "" && /^ \* layer: [a-z]+/ { own = $3 }
/^#include "[a-z_]+\// {
    inc = $2; gsub(/"/, "", inc); split(inc, q, "/"); d = q[1]
    if (!(d in rank) || !(own in rank)) { next }
    if (rank[d] > rank[own] || (rank[d] == rank[own] && d != own)) {
        print FILENAME ":" FNR ": " own " includes " inc
    }
}' $files $tests)
[ -z "$out" ] || report "include goes up a layer (DESIGN §2):
$out"

[ $fail -eq 0 ] && echo "checksrc: ok ($(echo "$files" | wc -w) files)"
exit $fail
