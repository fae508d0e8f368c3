#!/usr/bin/env bash
# A cross-encoder reranker with no download: exports the shipped one-label BERT (trained in eager Swift
# by samples/rerank/train on question–passage pairs), compiles it to a static library, scores every
# passage of passages.txt against a query with the compiled model (`tcompile run --text QUERY
# --text-pair PASSAGE`, one pair a row; one-label models get a sigmoid score), and prints the passages
# best first. Usage: samples/rerank/run.sh [TCOMPILE] ["query"]   With the default query, exits 1
# unless the passage that answers it ranks first.
set -euo pipefail
tcompile=$(realpath "${1:-$(dirname "$0")/../../.build/release/tcompile}")
cd "$(dirname "$0")"
query=${2:-"What is the capital of Japan?"}
expected=""
[ $# -lt 2 ] && expected="Tokyo is the capital of Japan."
mapfile -t passages < passages.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tcompile" export model --name rerank --max-batch 16 --max-seq 64 -o "$work/model.json"
"$tcompile" "$work/model.json" -o "$work/lib" >/dev/null
echo "compiled $work/lib/librerank.a"
args=()
for p in "${passages[@]}"; do args+=(--text "$query" --text-pair "$p"); done
"$tcompile" run "$work/model.json" --compiled --tokenizer model "${args[@]}" > "$work/out.txt"
# One result line per pair, in order: `  "query | passage" → LABEL_0 (score)`.
mapfile -t scores < <(grep '^  "' "$work/out.txt" | sed -E 's/.*\(([0-9.]+)\)$/\1/')
if [ ${#scores[@]} -ne ${#passages[@]} ]; then
    cat "$work/out.txt"
    echo "rerank: expected ${#passages[@]} scores, got ${#scores[@]}" >&2
    exit 1
fi
echo "query: \"$query\""
ranked=$(for i in "${!passages[@]}"; do printf '%s\t%s\n' "${scores[$i]}" "${passages[$i]}"; done | sort -t$'\t' -k1,1 -g -r)
awk -F'\t' '{ printf "  %d. %s  %s\n", NR, $1, $2 }' <<< "$ranked"
[ -z "$expected" ] && exit 0
best=$(head -1 <<< "$ranked" | cut -f2)
if [ "$best" != "$expected" ]; then
    echo "rerank: expected \"$expected\" first, got \"$best\"" >&2
    exit 1
fi
echo "rerank: the passage that answers the query ranks first"
