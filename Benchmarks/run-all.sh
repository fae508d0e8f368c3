#!/usr/bin/env bash
# The one benchmark command: ours (eager, JIT-compiled, AOT library in a C harness) against PyTorch eager,
# torch.compile, ONNX Runtime (with its transformer optimizer) and OpenVINO on MiniLM-L6 (1×16, 1×128,
# 8×128), a BERT-base config (1×128), a DistilBERT config (distilbert-base-uncased sizes, 1×128 and 8×128)
# and an XLM-R config (xlm-roberta-base sizes, 1×128; its 768 MB embedding table shows in peak memory), the
# last three with random weights, GPT-2 small greedy decoding (64 tokens, KV cache), the tiny-BERT training
# step and tokenizer throughput; the machine's sgemm ceiling; cold starts. The MiniLM and BERT-base rows run at
# reduced precision too, each compared with its own f32 output: bf16 (ours, OpenVINO, PyTorch autocast) and int8
# (ours, ONNX Runtime and PyTorch dynamic quantization, OpenVINO through NNCF). Same thread count for
# every runtime, every measurement in its own process, ours and the peers interleaved in each round.
#
# Writes Benchmarks/results/all.json (+ results/raw/all-*.jsonl), docs/benchmarks.md, docs/benchmarks.png
# and the benchmark block of README.md.
#
# Usage: Benchmarks/run-all.sh [--quick] [--rounds N] [--skip-torch-compile] [--only WORKLOAD[,…]]
#   decode     (a workload of --only) greedy decoding after a 128-token prompt on GPT-2 small, SmolLM2-135M and
#              TinyLlama-1.1B sizes (random weights): ours (CompiledGenerator) vs PyTorch, ONNX Runtime,
#              CTranslate2 and llama.cpp, with the machine's read bandwidth; Benchmarks/bench_decode.py, which
#              writes Benchmarks/results/decode.json and README.md's decode block (--quick: 32 new tokens, not 128)
#   --quick    one round, few repetitions, for development: 10-15 min on this 2-core machine while other
#              builds ran (most of it is compilation: tracing for our JIT and CompiledGenerator, torch.compile),
#              before the DistilBERT and XLM-R rows existed; those three rows alone took 9.4 min more under a load
#              of ~7, plus 6-7 min once for XLM-R's ONNX export and transformer optimizer (8.4 GB peak RSS) when
#              Benchmarks/.work has none yet
#   default    three rounds; run it on an otherwise idle machine (41 min here under a load average of ~6
#              from other builds, before the CompiledGenerator column existed; quiet, expect about 20-25 min)
#   seq2seq    (a workload of --only) encoder-decoder generation, 128 source tokens → 64 new tokens, greedy and beam 4,
#              on t5-small and bart-base sizes (random weights): ours eager and compiled (CompiledSeq2SeqGenerator) vs
#              PyTorch generate, ONNX Runtime (encoder + decoder with past) and CTranslate2 float32 and int8;
#              Benchmarks/bench_seq2seq.py, which writes Benchmarks/results/seq2seq.json and docs/benchmarks.md's
#              seq2seq block (--quick: one round; about 10 min here, plus a few minutes once for the exports)
#   compile    (a workload of --only) compile times: MiniLM-L6 and BERT-base export + AOT compile, the JIT's first
#              result cold and cached, the GPT-2 generating library, a 20,000-op chain and a 3,000-input concat,
#              against ONNX Runtime's session creation and OpenVINO's compile_model; Benchmarks/bench_compile.py,
#              which writes Benchmarks/results/compile.json and docs/benchmarks.md's compile block
#   --only     a comma-separated subset of the workloads, for development (e.g. distilbert_1x128,xlmr_1x128;
#              `Benchmarks/bench_all.py --help` lists them); only what they need is built and prepared. It still
#              rewrites the results and documents with that subset: restore them before committing.
# Environment: DECODE_MODELS (the decode workload's models, default gpt2,smollm2,tinyllama), SEQ2SEQ_MODELS (the
#   seq2seq workload's, default t5small,bartbase), THREADS (2), PYTHON (default: a .venv-bench made from Benchmarks/peers/requirements.txt by Benchmarks/peers/python.sh: torch, transformers, onnxruntime, openvino,
#   onnx, matplotlib, nncf), SCRATCH (the Swift build directory, Benchmarks/.build-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=$(Benchmarks/peers/python.sh)
threads=${THREADS:-2}
scratch=${SCRATCH:-$root/Benchmarks/.build-bench}

if ! "$python" -c "import torch, transformers, tokenizers, onnxruntime, onnx, openvino, matplotlib" 2>/dev/null; then
    echo "run-all.sh: $python lacks a peer package; pip install -r Benchmarks/peers/requirements.txt" >&2
    exit 1
fi
scripts/fetch-minilm.sh
build() { Benchmarks/swift-build.sh --package-path Benchmarks --scratch-path "$scratch" --product "$1"; }
# --only: build just the products its workloads need (all of them without it).
only=all
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --only) only=${args[i + 1]:-} ;;
        --only=*) only=${args[i]#--only=} ;;
    esac
done
wants() { [ "$only" = all ] || [[ ",$only," == *",$1"* ]]; }
# --quick and --rounds N, passed on to the decode, seq2seq and compile workloads' scripts.
common=()
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --quick) common+=(--quick) ;;
        --rounds) common+=(--rounds "${args[i + 1]:-}") ;;
        --rounds=*) common+=(--rounds "${args[i]#--rounds=}") ;;
    esac
done
products=(ModelBench tcompile)
if [ "$only" = seq2seq ]; then products=(); fi   # it needs only its own executable
if wants decode; then products+=(DecodeBench); fi
if wants seq2seq; then products+=(Seq2SeqBench); fi
if wants training_step; then products+=(TrainingStep); fi
if wants tokenizer_; then products+=(TokenizerThroughput); fi
for product in ${products[@]+"${products[@]}"}; do
    build "$product" 2>&1 | grep -E "error|warning: unre|Compiling|Build of" | tail -3
done
# The compiled GPT-2 generator benchmark builds only once CompiledGenerator exists (see its main.swift).
gpt2_compiled=()
if ! wants gpt2_greedy_64; then
    :
elif build GPT2CompiledBench >"$scratch/gpt2-compiled-build.log" 2>&1; then
    gpt2_compiled=(--gpt2-compiled-built)
    echo "GPT2CompiledBench built: the compiled GPT-2 column will be filled"
else
    echo "GPT2CompiledBench does not build here (CompiledGenerator not merged?): compiled GPT-2 column left empty; see $scratch/gpt2-compiled-build.log"
fi
bin=$(Benchmarks/swift-build.sh --package-path Benchmarks --scratch-path "$scratch" --show-bin-path)
# The decode workload (Benchmarks/bench_decode.py) writes its own results/decode.json and README block.
if wants decode; then
    models=()
    if [ -n "${DECODE_MODELS:-}" ]; then models=(--models "$DECODE_MODELS"); fi
    "$python" Benchmarks/bench_decode.py --bin-dir "$bin" --threads "$threads" --python "$python" "${common[@]}" "${models[@]}"
fi
# The seq2seq workload (Benchmarks/bench_seq2seq.py) writes results/seq2seq.json and docs/benchmarks.md's seq2seq block.
if wants seq2seq; then
    models=()
    if [ -n "${SEQ2SEQ_MODELS:-}" ]; then models=(--models "$SEQ2SEQ_MODELS"); fi
    "$python" Benchmarks/bench_seq2seq.py --bin-dir "$bin" --threads "$threads" --python "$python" "${common[@]}" "${models[@]}"
fi
# The compile workload (Benchmarks/bench_compile.py) writes results/compile.json and docs/benchmarks.md's compile block.
if wants compile; then
    "$python" Benchmarks/bench_compile.py --bin-dir "$bin" --threads "$threads" --python "$python" "${common[@]}"
fi
# bench_all.py runs every other workload: decode, seq2seq and compile are left out of its --only.
case "$(echo ",$only," | sed 's/,decode,/,/g; s/,seq2seq,/,/g; s/,compile,/,/g; s/,decode,/,/g; s/,seq2seq,/,/g')" in ,|,,) exit 0 ;; esac
rest=()
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --only) rest+=(--only "$(echo ",${args[i + 1]:-}," | sed 's/,decode,/,/g; s/,seq2seq,/,/g; s/,compile,/,/g; s/,decode,/,/g; s/,seq2seq,/,/g; s/^,//; s/,$//')"); i=$((i + 1)) ;;
        --only=*) rest+=(--only "$(echo ",${args[i]#--only=}," | sed 's/,decode,/,/g; s/,seq2seq,/,/g; s/,compile,/,/g; s/,decode,/,/g; s/,seq2seq,/,/g; s/^,//; s/,$//')") ;;
        *) rest+=("${args[i]}") ;;
    esac
done
exec "$python" Benchmarks/bench_all.py --bin-dir "$bin" --threads "$threads" --python "$python" "${gpt2_compiled[@]}" "${rest[@]}"
