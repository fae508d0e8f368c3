#!/usr/bin/env bash
# Compiles the shipped classifier with tcompile, links this C program against it (two flags:
# -lclassify -lm), and classifies a sentence. Usage: samples/link-c/run.sh [TCOMPILE] ["text"]
set -euo pipefail
tcompile=$(realpath "${1:-$(dirname "$0")/../../.build/release/tcompile}")
cd "$(dirname "$0")"
text=${2:-"Simmer the garlic sauce until it is creamy."}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tcompile" export ../classify/model --task text-classification --name classify --max-batch 1 --max-seq 64 -o "$work/model.json" >/dev/null
"$tcompile" "$work/model.json" -o "$work/lib" >/dev/null
cc -std=c11 -Wall -Werror main.c -I "$work/lib" -L "$work/lib" -lclassify -lm -o "$work/classify-app"
ids=$("$tcompile" tokenize --tokenizer ../classify/model --text "$text")
echo "\"$text\" → $("$work/classify-app" "$work/lib/classify.weights" $ids)"
