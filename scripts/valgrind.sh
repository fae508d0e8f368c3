#!/usr/bin/env bash
# Runs the AOT sample apps under valgrind (memcheck): every read and write of the compiled model, its
# C API and its weights loading must be clean, and nothing may leak. Fails on any error or definite/
# indirect leak. Usage: scripts/valgrind.sh [TCOMPILE]   (default: builds the debug tcompile)
# Needs valgrind (apt package valgrind; scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
    tcompile=$(realpath "$1")
else
    swift build --product tcompile >/dev/null
    tcompile=$(swift build --show-bin-path)/tcompile
fi
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# OpenBLAS's worker threads keep their buffers until exit ("still reachable"), which is not a leak;
# definite and indirect leaks and every memory error fail the run. One BLAS thread keeps valgrind's
# serialized threads fast.
export OPENBLAS_NUM_THREADS=1
memcheck=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
          --show-leak-kinds=definite,indirect --track-origins=yes --quiet)

# samples/link-c: the C program linked against the compiled classifier, on one sentence and at the
# sequence bound, plus an out-of-vocabulary id (status path).
"$tcompile" export samples/classify/model --task text-classification --name classify --max-batch 1 --max-seq 64 -o "$work/model.json" >/dev/null
# --cpu portable: valgrind 3.19 cannot execute AVX-512, so the model is compiled for baseline x86-64.
"$tcompile" "$work/model.json" -o "$work/lib" --cpu portable >/dev/null
cc -std=c11 -g -Wall -Werror samples/link-c/main.c -I "$work/lib" -L "$work/lib" -lclassify -lopenblas -lm -o "$work/classify-app"
ids=$("$tcompile" tokenize --tokenizer samples/classify/model --text "Simmer the garlic sauce until it is creamy.")
echo "valgrind: link-c, $(echo $ids | wc -w) tokens"
"${memcheck[@]}" "$work/classify-app" "$work/lib/classify.weights" $ids
long=$(for i in $(seq 64); do printf '%s ' 2; done)
echo "valgrind: link-c, 64 tokens (the bound)"
"${memcheck[@]}" "$work/classify-app" "$work/lib/classify.weights" $long >/dev/null
echo "valgrind: link-c, an id outside the vocabulary (must fail cleanly)"
if "${memcheck[@]}" "$work/classify-app" "$work/lib/classify.weights" 2 999999 3 2>"$work/err"; then
    echo "expected the run to fail with an id outside the vocabulary"; exit 1
fi
grep -q "run:" "$work/err" || { cat "$work/err"; exit 1; }
echo "valgrind: link-c, a truncated weights file (must fail cleanly)"
head -c 1000 "$work/lib/classify.weights" > "$work/truncated.weights"
if "${memcheck[@]}" "$work/classify-app" "$work/truncated.weights" 2 3 2>"$work/err"; then
    echo "expected create to fail on a truncated weights file"; exit 1
fi
grep -q "create:" "$work/err" || { cat "$work/err"; exit 1; }

# samples/link-c/generate.c: the generating library (prefill, decode steps with the state's two KV
# caches up to the length bound, sampling), and its refusals.
"$tcompile" samples/tiny-lm/model --generate --max-seq 64 --name tinylm -o "$work/gen" --cpu portable >/dev/null
cc -std=c11 -g -Wall -Werror samples/link-c/generate.c -I "$work/gen" -L "$work/gen" -ltinylm -lm -o "$work/generate-app"
echo "valgrind: link-c generate, greedy to the length bound (3 + 61 tokens)"
"${memcheck[@]}" "$work/generate-app" "$work/gen/tinylm.weights" --no-stop --max-new 61 2 100 200 >/dev/null
echo "valgrind: link-c generate, sampled"
"${memcheck[@]}" "$work/generate-app" "$work/gen/tinylm.weights" --max-new 30 --temperature 0.8 --top-k 40 --top-p 0.9 --seed 3 2 100 200 >/dev/null
echo "valgrind: link-c generate, over the bound and outside the vocabulary (must fail cleanly)"
for args in "--max-new 62 2 100 200" "2 100 9999"; do
    if "${memcheck[@]}" "$work/generate-app" "$work/gen/tinylm.weights" $args >/dev/null 2>"$work/err"; then
        echo "expected generate $args to fail"; exit 1
    fi
    grep -q "^error [23]: " "$work/err" || { cat "$work/err"; exit 1; }
done

# samples/link-swift: the Swift executable linked against MiniLM compiled --cpu portable, embedding one
# sentence (skipped with a message when the checkpoint has not been fetched: scripts/fetch-minilm.sh).
checkpoint=.models/all-MiniLM-L6-v2
if [ -f "$checkpoint/model.safetensors" ]; then
    "$tcompile" export "$checkpoint" --task feature-extraction --name minilm --max-batch 1 --max-seq 32 -o "$work/minilm.json" >/dev/null
    "$tcompile" "$work/minilm.json" -o "$work/minilm" --cpu portable >/dev/null
    # Its own scratch folder: the sample's .build is linked against the host-compiled library by run.sh.
    swift build --package-path samples/link-swift --scratch-path samples/link-swift/.build-valgrind \
        -Xswiftc -I"$work/minilm" -Xlinker -L"$work/minilm" >"$work/swift-build.log" 2>&1 || { cat "$work/swift-build.log"; exit 1; }
    app=$(swift build --package-path samples/link-swift --scratch-path samples/link-swift/.build-valgrind --show-bin-path)/link-swift
    echo "valgrind: link-swift, MiniLM on one sentence"
    "${memcheck[@]}" "$app" "$work/minilm" "$checkpoint" "A man is playing a guitar on stage." >/dev/null
else
    echo "valgrind: link-swift skipped: no $checkpoint (scripts/fetch-minilm.sh fetches it)"
fi

echo "valgrind: clean"
