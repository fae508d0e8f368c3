#!/usr/bin/env bash
# Semantic search with all-MiniLM-L6-v2 compiled ahead of time: `tcompile export --task
# feature-extraction` traces it into model.json, `tcompile model.json` compiles it into .build/lib,
# this package is built against the library, and it answers queries over documents.txt by cosine
# similarity, after checking its embeddings against eager ones (`tcompile run --eager`).
# Usage: samples/semantic-search/run.sh [TCOMPILE] ["query" ...]   (run scripts/fetch-minilm.sh first)
set -euo pipefail
tcompile=$(realpath "${1:-$(dirname "$0")/../../.build/release/tcompile}")
shift || true
queries=("$@")
if [ ${#queries[@]} -eq 0 ]; then
    queries=("How long should bread dough rise?" "Who won the football game?" "My computer does not start."
             "Will it be cold tonight?")
fi
cd "$(dirname "$0")"
checkpoint=../../.models/all-MiniLM-L6-v2
[ -f "$checkpoint/model.safetensors" ] || { echo "no $checkpoint: run scripts/fetch-minilm.sh" >&2; exit 1; }
lib=$PWD/.build/lib
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tcompile" export "$checkpoint" --task feature-extraction --name minilm --max-batch 64 --max-seq 64 -o "$lib/model.json" >/dev/null
"$tcompile" "$lib/model.json" -o "$lib" >/dev/null
swift build --scratch-path .build -Xswiftc -I"$lib" -Xlinker -L"$lib" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
# Eager embeddings of the same texts in the same order (documents, then queries), as one padded batch.
texts=()
while IFS= read -r line; do [ -n "$line" ] && texts+=(--text "$line"); done < documents.txt
for q in "${queries[@]}"; do texts+=(--text "$q"); done
"$tcompile" run "$lib/model.json" --eager --tokenizer "$checkpoint" "${texts[@]}" -o "$work/eager.safetensors" >/dev/null
"$(swift build --scratch-path .build --show-bin-path)/semantic-search" "$lib" "$checkpoint" documents.txt --eager "$work/eager.safetensors" "${queries[@]}"
