#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ with -sanitize=fuzzer,address and runs each for SECONDS
# (default 600) from seed corpora of the repository's real fixture files. Fails on any crash, leak,
# out-of-memory (-rss_limit_mb) or slow input (-timeout); the input that did it is left in
# .build-fuzz/artifacts/TARGET/ (reproduce: .build-fuzz/debug/fuzz-TARGET FILE). Usage:
#   scripts/fuzz.sh [SECONDS] [TARGET ...]     targets: json safetensors model-json config tokenizer-json spm-model wordpiece bpe run weights graph export
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(json safetensors model-json config tokenizer-json spm-model wordpiece bpe run weights graph export)
scripts/fetch-minilm.sh >/dev/null 2>&1 || echo "fuzz: MiniLM not fetched; wordpiece uses the shipped classifier's vocabulary"

scratch=.build-fuzz
mkdir -p "$scratch/logs"
# SwiftPM kept this scratch path's list of source files when files were added to the package, and the
# build failed on the new names; the list is rebuilt from the package when its file is gone.
rm -f "$scratch/debug.yaml"
if ! swift build --package-path Fuzz --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
        >"$scratch/logs/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$scratch/logs/build.log" | tail -40
    echo "fuzz: the build failed (full log: $scratch/logs/build.log)"
    exit 1
fi
grep -v "Cannot export local symbol" "$scratch/logs/build.log" | tail -1
bin=$(swift build --package-path Fuzz --scratch-path "$scratch" --show-bin-path)

# Seed corpora: committed seeds (Fuzz/corpus) plus the fixture files the test suite uses.
seed() {  # seed TARGET FILES...
    local dir=$scratch/corpus/$1; shift
    mkdir -p "$dir"
    for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/seed-$(echo "$f" | tr '/' '_')"; done
    return 0
}
seed json Fuzz/corpus/json/* Fuzz/corpus/model-json/* Fuzz/corpus/tokenizer-json/* Tests/TransformersTests/Fixtures/*/config.json
seed safetensors Tests/TensorsTests/Fixtures/python.safetensors Tests/NNTests/Fixtures/*.safetensors \
    Tests/TransformersTests/Fixtures/{bert-seqcls,bert-nsp,roberta-seqcls,gpt2-model,roberta-mlm}/expected.safetensors
seed model-json Fuzz/corpus/model-json/*
seed config Tests/TransformersTests/Fixtures/*/config.json samples/classify/model/config.json .models/all-MiniLM-L6-v2/config.json
seed tokenizer-json Fuzz/corpus/tokenizer-json/* samples/classify/model/tokenizer.json
seed spm-model Tests/TokenizersTests/Fixtures/sentencepiece/unigram-identity.model Tests/TokenizersTests/Fixtures/sentencepiece/bpe-bytefallback.model
seed wordpiece Fuzz/corpus/text/*
seed bpe Fuzz/corpus/text/*
seed graph Fuzz/corpus/graph/*     # inputs that found something (the target writes its other seeds below)
seed export Fuzz/corpus/export/*   # config.json, a zero byte, a safetensors header (one per family)
# The run, weights and graph targets write their own seeds (ids 1 2 3; the library's own weights
# file; each seed graph unmutated).
for target in run weights graph; do
    mkdir -p "$scratch/corpus/$target"
    # (no leak check here: Foundation's Process keeps a few bytes to the end, which LSan reports at exit)
    ASAN_OPTIONS=detect_leaks=0 TCOMPILE_ROOT=$root SWIFT_BACKTRACE=enable=no TCOMPILE_SOURCE_LOCATIONS=0 TCOMPILE_FUZZ_SEED_OUT="$scratch/corpus/$target/seed" "$bin/fuzz-$target" >/dev/null 2>&1 \
        || echo "fuzz: fuzz-$target could not write its seed"
done

export SWIFT_BACKTRACE=enable=no   # let libFuzzer and ASan report crashes, not Swift's backtracer
# Traced seed graphs carry no Swift source lines: symbolicating them takes a minute under ASan, and
# they come from the harness, not from input.
export TCOMPILE_SOURCE_LOCATIONS=${TCOMPILE_SOURCE_LOCATIONS:-0}
# allocator_release_to_os_interval_ms=-1: ASan's periodic return of freed pages to the system once
# stalled a graph compile for a minute inside free() on a loaded machine; the fuzzers keep their pages.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:allocator_release_to_os_interval_ms=-1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/Fuzz/lsan.supp:print_suppressions=0}
export TCOMPILE_ROOT=$root
failed=()
for target in "${targets[@]}"; do
    mkdir -p "$scratch/artifacts/$target" "$scratch/logs"
    log=$scratch/logs/$target.log
    echo "fuzz-$target: ${seconds}s"
    status=0
    dict=()
    case "$target" in json|model-json|config|tokenizer-json|export) dict=(-dict=Fuzz/dictionaries/json.dict) ;; esac
    # An input of the graph and export targets compiles or traces a model: seconds under ASan.
    timeout=10
    case "$target" in graph|export) timeout=30 ;; esac
    "$bin/fuzz-$target" "$scratch/corpus/$target" "${dict[@]}" -max_total_time="$seconds" -timeout=$timeout -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$scratch/artifacts/$target/" >"$log" 2>&1 || status=$?
    # Scratch folders of fuzzers that have exited (another fuzz.sh may be running its own beside this one).
    for d in /dev/shm/tcompile-fuzz-*; do
        [ -d "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf "$d"
    done
    true
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    if [ $status -ne 0 ]; then
        echo "fuzz-$target: FAILED (exit $status) after $execs runs; see $log and $scratch/artifacts/$target/"
        grep -m5 -E "ERROR|Fatal error|SUMMARY|Test unit written" "$log" || true
        failed+=("$target")
    else
        echo "fuzz-$target: ok, $execs runs, $cov, corpus $(ls "$scratch/corpus/$target" | wc -l) inputs"
    fi
done
if [ ${#failed[@]} -ne 0 ]; then echo "fuzz: failed: ${failed[*]}"; exit 1; fi
echo "fuzz: all ${#targets[@]} targets clean"
