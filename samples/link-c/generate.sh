#!/usr/bin/env bash
# Compiles a small GPT-2 (the random-weight test fixture: its tokens mean nothing, but they equal
# eager Swift's and transformers' generate) into a library that generates on its own, links
# generate.c against it (-lgpt2gen -lm), and streams greedy, then sampled, token ids.
# Usage: samples/link-c/generate.sh [TCOMPILE] [ID ...]
set -euo pipefail
tcompile=$(realpath "${1:-$(dirname "$0")/../../.build/release/tcompile}")
shift || true
cd "$(dirname "$0")"
prompt=("$@")
if [ ${#prompt[@]} -eq 0 ]; then prompt=(5 17 33); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tcompile" "$PWD/generate.json" --generate -o "$work/lib" >/dev/null
cc -std=c11 -Wall -Werror generate.c -I "$work/lib" -L "$work/lib" -lgpt2gen -lm -o "$work/generate"
echo "greedy:"
"$work/generate" "$work/lib/gpt2gen.weights" --max-new 20 "${prompt[@]}"
echo "sampled (temperature 0.9, top-k 20, top-p 0.95, seed 3):"
"$work/generate" "$work/lib/gpt2gen.weights" --max-new 20 --temperature 0.9 --top-k 20 --top-p 0.95 --seed 3 "${prompt[@]}"
