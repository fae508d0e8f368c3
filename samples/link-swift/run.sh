#!/usr/bin/env bash
# Compiles all-MiniLM-L6-v2 with tcompile into .build/lib/, builds this package against it with one command
# (`swift build -Xswiftc -I<lib> -Xlinker -L<lib>`), embeds a sentence, and checks the compiled hidden
# states against eager (`tcompile run --eager`) within 1e-4; exits non-zero if they differ.
# Usage: samples/link-swift/run.sh [TCOMPILE] ["text"]   (run scripts/fetch-minilm.sh first)
set -euo pipefail
tcompile=$(realpath "${1:-$(dirname "$0")/../../.build/release/tcompile}")
cd "$(dirname "$0")"
checkpoint=../../.models/all-MiniLM-L6-v2
text=${2:-"A man is playing a guitar on stage."}
[ -f "$checkpoint/model.safetensors" ] || { echo "no $checkpoint: run scripts/fetch-minilm.sh" >&2; exit 1; }
lib=$PWD/.build/lib
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tcompile" export "$checkpoint" --task feature-extraction --name minilm --max-batch 1 --max-seq 128 -o "$lib/model.json" >/dev/null
"$tcompile" "$lib/model.json" -o "$lib" >/dev/null
swift build --scratch-path .build -Xswiftc -I"$lib" -Xlinker -L"$lib" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$tcompile" run "$lib/model.json" --eager --tokenizer "$checkpoint" --text "$text" -o "$work/eager.safetensors" >/dev/null
"$(swift build --scratch-path .build --show-bin-path)/link-swift" "$lib" "$checkpoint" "$text" --expect "$work/eager.safetensors"
