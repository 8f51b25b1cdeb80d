#!/bin/sh
# checksrc: a grep over src/ for what the house style bans (STYLE §17).
#  - unsafe or unbounded libc calls
#  - raw allocation outside core/xmalloc.c and core/arena.c
#  - // comments
#  - iconv_open outside parse/charset.c
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

[ $fail -eq 0 ] && echo "checksrc: ok ($(echo "$files" | wc -w) files)"
exit $fail
