#!/usr/bin/env bash
# Compiles the shipped tiny Llama-architecture language model (samples/tiny-lm/model, trained in eager
# Swift by `swift run -c release train-tiny-lm` on the classifier's sentences) into a library that
# generates on its own, links generate.c against it (-ltinylm -lm), and streams a greedy and a sampled
# continuation of a prompt. Usage: samples/link-c/generate.sh [TCOMPILE] ["prompt"]
set -euo pipefail
tcompile=$(realpath "${1:-$(dirname "$0")/../../.build/release/tcompile}")
cd "$(dirname "$0")"
text=${2:-"The striker"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tcompile" ../tiny-lm/model --generate --max-seq 64 --name tinylm -o "$work/lib" >/dev/null
cc -std=c11 -Wall -Werror generate.c -I "$work/lib" -L "$work/lib" -ltinylm -lm -o "$work/generate"
# The tokenizer adds [CLS] (the model's beginning of sentence) and [SEP] (its end): the prompt keeps [CLS] only.
read -r -a ids <<< "$("$tcompile" tokenize --tokenizer ../tiny-lm/model --text "$text")"
prompt=("${ids[@]:0:${#ids[@]}-1}")
echo "greedy:"
"$work/generate" "$work/lib/tinylm.weights" --vocab ../tiny-lm/model/vocab.txt --max-new 24 "${prompt[@]}"
echo "sampled (temperature 0.8, top-k 40, top-p 0.95, seed 7):"
"$work/generate" "$work/lib/tinylm.weights" --vocab ../tiny-lm/model/vocab.txt --max-new 24 --temperature 0.8 --top-k 40 --top-p 0.95 --seed 7 "${prompt[@]}"
