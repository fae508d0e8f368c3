#!/usr/bin/env bash
# The tiny BERT masked-LM training step, ours against PyTorch eager, same threads, interleaved rounds.
# Writes results/training.json. Usage: Benchmarks/run-training.sh   (ROUNDS=3 STEPS=10 THREADS=2)
set -euo pipefail
cd "$(dirname "$0")"
python=$(peers/python.sh)
rounds=${ROUNDS:-3}
steps=${STEPS:-10}
threads=${THREADS:-2}
./swift-build.sh --scratch-path .build-bench --product TrainingStep
mkdir -p results/raw
raw=results/raw/training-$(date -u +%Y%m%dT%H%M%SZ).jsonl
for round in $(seq "$rounds"); do
    OPENBLAS_NUM_THREADS=$threads OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-COOPERLAKE} .build-bench/release/TrainingStep "$steps" >>"$raw"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" peers/training_peer.py "$steps" "$threads" >>"$raw"
    echo "round $round/$rounds done"
done
"$python" - "$raw" results/training.json "$threads" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ours = [r["ms_per_step"] for r in rows if r["impl"] == "ours"]
torch = [r["ms_per_step"] for r in rows if r["impl"] == "pytorch"]
ratios = [o / t for o, t in zip(ours, torch)]
result = {"workload": "tiny BERT MLM training step (2 layers, hidden 128, vocab 30522, batch 8x64, AdamW)",
          "threads": int(sys.argv[3]), "ours_ms": {"median": statistics.median(ours), "min": min(ours), "max": max(ours)},
          "pytorch_ms": {"median": statistics.median(torch), "min": min(torch), "max": max(torch)},
          "ratio_ours_over_pytorch": statistics.median(ours) / statistics.median(torch),
          "ratio_per_round": {"min": min(ratios), "max": max(ratios)}}
json.dump(result, open(sys.argv[2], "w"), indent=2)
print(f"ours {result['ours_ms']['median']:.1f} ms, PyTorch {result['pytorch_ms']['median']:.1f} ms, ratio {result['ratio_ours_over_pytorch']:.2f}")
PY
