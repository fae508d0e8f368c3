#!/usr/bin/env bash
# Compiles all-MiniLM-L6-v2 with tcompile (export + compile), links embed.c against it with
# `cc embed.c -lminilm -lm`, embeds a sentence, and checks the compiled hidden states
# against the eager ones (`tcompile run --eager`) within 1e-4; exits non-zero if they differ.
# Usage: samples/link-c/minilm.sh [TCOMPILE] ["text"]   (run scripts/fetch-minilm.sh first)
set -euo pipefail
tcompile=$(realpath "${1:-$(dirname "$0")/../../.build/release/tcompile}")
cd "$(dirname "$0")"
checkpoint=../../.models/all-MiniLM-L6-v2
text=${2:-"A man is playing a guitar on stage."}
[ -f "$checkpoint/model.safetensors" ] || { echo "no $checkpoint: run scripts/fetch-minilm.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tcompile" export "$checkpoint" --task feature-extraction --name minilm --max-batch 1 --max-seq 128 -o "$work/model.json" >/dev/null
"$tcompile" "$work/model.json" -o "$work/lib" >/dev/null
cc -std=c11 -Wall -Werror embed.c -I "$work/lib" -L "$work/lib" -lminilm -lm -o "$work/embed"
"$tcompile" run "$work/model.json" --eager --tokenizer "$checkpoint" --text "$text" -o "$work/eager.safetensors" >/dev/null
ids=$("$tcompile" tokenize --tokenizer "$checkpoint" --text "$text")
echo "\"$text\" (ids $ids)"
"$work/embed" "$work/lib/minilm.weights" --expect "$work/eager.safetensors" $ids
