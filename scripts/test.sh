#!/usr/bin/env bash
# The README's test command: builds the package and its tests, runs the whole suite, then each sample
# in a fast configuration, the C sample under valgrind, and every fuzz target briefly
# (FUZZ_SECONDS each, default 30; 0 skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-minilm.sh
swift build --build-tests
swift test --skip-build --parallel
# Samples, each in a fast configuration.
swift build --product train-basics --product train-classifier --product train-ner --product train-reranker --product train-tiny-lm --product train-translate --product tcompile --product fill-mask --product generate
bin=$(swift build --show-bin-path)
"$bin/train-basics" --epochs 5
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$bin/train-classifier" --epochs 1 --output "$scratch/classifier"
"$bin/tcompile" export samples/classify/model --task text-classification --name classify --max-batch 4 --max-seq 32 -o "$scratch/classify/model.json"
"$bin/tcompile" "$scratch/classify/model.json" -o "$scratch/classify/lib"
"$bin/tcompile" run "$scratch/classify/model.json" --tokenizer samples/classify/model --text "The striker scored a late goal."
"$bin/train-ner" --epochs 1 --output "$scratch/ner"
samples/ner/run.sh "$bin/tcompile"
"$bin/train-reranker" --epochs 1 --output "$scratch/reranker"
samples/rerank/run.sh "$bin/tcompile"
samples/link-c/run.sh "$bin/tcompile"
samples/link-c/minilm.sh "$bin/tcompile"
"$bin/train-tiny-lm" --epochs 1 --output "$scratch/tiny-lm"
samples/link-c/generate.sh "$bin/tcompile"
"$bin/train-translate" --steps 20 --output "$scratch/translate" --data "$scratch/translate-data"
TCOMPILE="$bin/tcompile" samples/translate/run.sh
"$bin/fill-mask"
"$bin/generate" --max-new-tokens 16
samples/link-swift/run.sh "$bin/tcompile"
samples/semantic-search/run.sh "$bin/tcompile"
# Hardening (docs/security.md): the C sample under valgrind, then a short run of every fuzz target.
scripts/valgrind.sh "$bin/tcompile"
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then scripts/fuzz.sh "${FUZZ_SECONDS:-30}"; fi
