#!/usr/bin/env bash
# Exports an encoder-decoder checkpoint (default: the tiny random-weight T5 v1.1 test fixture) as a
# manifest, compiles it into libs2s.a (entries s2s_encode_run and s2s_decode_step_run, one weights
# file), links translate.c against it (-ls2s -lm) and greedily decodes token ids.
# Usage: samples/link-c/translate.sh [TCOMPILE] [CHECKPOINT] [MAX_NEW] [ID...]
set -euo pipefail
tcompile=$(realpath "${1:-$(dirname "$0")/../../.build/release/tcompile}")
checkpoint=$(realpath "${2:-$(dirname "$0")/../../Tests/TransformersTests/Fixtures/t5-v1_1}")
max_new=${3:-10}
shift $(( $# < 3 ? $# : 3 ))
ids=("$@")
[ ${#ids[@]} -gt 0 ] || ids=(13 59 21 7 88 1)
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tcompile" export "$checkpoint" --task text2text-generation --max-batch 1 --max-seq 32 -o "$work/model.json" >/dev/null
"$tcompile" "$work/model.json" --name s2s -o "$work/lib" >/dev/null
cc -std=c11 -Wall -Werror translate.c -I "$work/lib" -L "$work/lib" -ls2s -lm -o "$work/translate"
# The decoder start token and the (first) EOS id from config.json (T5: 0 and 1; BART: 2 and 2).
field() { grep -o "\"$1\": *\[\? *[0-9]*" "$checkpoint/config.json" | grep -o '[0-9]*$' | head -n 1; }
start=$(field decoder_start_token_id)
eos=$(field eos_token_id)
echo "source ids: ${ids[*]}"
echo "generated:  $("$work/translate" "$work/lib/s2s.weights" "$max_new" "$start" "$eos" "${ids[@]}")"
