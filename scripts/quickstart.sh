#!/usr/bin/env bash
# The README's main job on a fresh machine: install what is missing, build tcompile in release, then
# take the shipped classifier (a tiny BERT trained in eager Swift by samples/classify/train) through
# the whole pipeline — trace it to model.json, optimize and compile it to a native library, and run
# the compiled model on text.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product tcompile
tcompile=.build/release/tcompile
out=.build/quickstart
rm -rf "$out"
echo "== 1. trace the checkpoint (eager Swift BERT) into a graph"
$tcompile export samples/classify/model --task text-classification --name classify --max-batch 8 --max-seq 64 -o "$out/model.json"
echo "== 2. optimize and compile it into a static library, a C header and weights"
$tcompile "$out/model.json" -o "$out/lib"
echo "== 3. run the compiled model on text"
texts=("${@:-}")
if [ -z "${texts[0]}" ]; then
    texts=("The striker scored a late goal in the final." "Simmer the garlic sauce until it is creamy."
           "The laptop rebooted after the update." "Heavy rain and thunder are in the forecast.")
fi
args=()
for t in "${texts[@]}"; do args+=(--text "$t"); done
$tcompile run "$out/model.json" --compiled --tokenizer samples/classify/model "${args[@]}"
