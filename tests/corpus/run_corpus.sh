#!/bin/sh
# Corpus ratchet: run `bounced parse` over ../shared/corpus/{sisimai,flufl} and the in-repo
# tests/corpus/realmta (written by real MTAs, tests/realmta/README.md), score them, and fail
# when any figure is below tests/corpus/baseline.txt. The shared corpora are scored with
# ../shared/tools/score.py and skipped when it is not there (a clone on its own); the in-repo
# corpus is scored with tests/corpus/score_rows.py, so its floors hold in every clone.
set -eu
bin=${1:?usage: run_corpus.sh BOUNCED_BIN}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
shared=${BNC_SHARED_DIR:-$top/../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
# baseline.txt lines: NAME FIGURE  (NAME = corpus[/subdir], FIGURE = score.py summary value)
# corpus "realmta" is tests/corpus/realmta in this repository; any other is $shared/corpus/NAME.
while read -r name want; do
    case "$name" in ''|'#'*) continue ;; esac
    corpus=${name%%/*}
    case "$corpus" in
    realmta) base="$here/realmta"; scorer="$here/score_rows.py" ;;
    *) base="$shared/corpus/$corpus"; scorer="$shared/tools/score.py" ;;
    esac
    if [ ! -f "$scorer" ]; then
        echo "corpus $name: $scorer not found; skipped"
        continue
    fi
    if [ ! -f "$base/EXPECTED.tsv" ]; then
        echo "corpus $name: $base not found; skipped"
        continue
    fi
    dir="$base${name#"$corpus"}"
    "$bin" parse "$dir" > "$tmp/out.jsonl" 2> "$tmp/err.txt" || true
    python3 "$scorer" "$tmp/out.jsonl" "$base/EXPECTED.tsv" \
        > "$tmp/score.txt" 2>&1 || true
    if [ "$name" != "$corpus" ]; then
        # sub-directory: the rows of that directory only
        sub=${name#*/}
        awk -F'\t' -v s="$sub/" 'NR==1 || index($1, s)==1' "$base/EXPECTED.tsv" > "$tmp/exp.tsv"
        python3 "$scorer" "$tmp/out.jsonl" "$tmp/exp.tsv" > "$tmp/score.txt" 2>&1 || true
    fi
    metric=${want%%=*}
    floor=${want#*=}
    got=$(awk -v m="$metric " 'index($0, m) == 1 { print substr($0, length(m) + 1); exit }' "$tmp/score.txt" \
        | sed -E 's/^[^0-9]*([0-9.]+).*/\1/')
    if [ -z "$got" ]; then
        echo "corpus $name: no '$metric' line from $scorer:"; cat "$tmp/score.txt"; fail=1; continue
    fi
    if awk -v g="$got" -v f="$floor" 'BEGIN { exit !(g + 1e-9 < f) }'; then
        echo "corpus $name: $metric $got < baseline $floor  FAIL"
        fail=1
    else
        echo "corpus $name: $metric $got (baseline $floor) ok"
    fi
done < "$here/baseline.txt"
exit $fail
