#!/usr/bin/env bash
# Eager Swift Transformers (samples/transformers-bench, release) against PyTorch eager
# (peers/transformers_peer.py), interleaved round by round in one invocation, same thread count.
# Writes results/transformers.json: per workload the median over rounds of each round's median,
# min and max, and the ratio ours / PyTorch (time; < 1 is faster).
#
# Usage: Benchmarks/run-transformers.sh   (ROUNDS=3 RUNS=10 THREADS=2; PYTHON: default a .venv-bench made by Benchmarks/peers/python.sh;
#        SCRATCH=.build-tf, the scratch path the release build uses)
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(Benchmarks/peers/python.sh)
rounds=${ROUNDS:-3}
runs=${RUNS:-10}
threads=${THREADS:-2}
scratch=${SCRATCH:-.build-tf}

scripts/fetch-minilm.sh
swift build -c release --scratch-path "$scratch" --product transformers-bench
bench="$scratch/release/transformers-bench"
# Debian's OpenBLAS 0.3.21 does not recognize this VM's CPU (AVX-512, model name "Intel Xeon Processor")
# and falls back to its Prescott kernels, 3-4x slower; docs/architecture.md ("Facts measured here") has the measurement.
coretype=${OPENBLAS_CORETYPE:-COOPERLAKE}

mkdir -p Benchmarks/results/raw
raw=Benchmarks/results/raw/transformers-$(date -u +%Y%m%dT%H%M%SZ).jsonl
for round in $(seq "$rounds"); do
    OPENBLAS_CORETYPE=$coretype OPENBLAS_NUM_THREADS=$threads "$bench" --runs "$runs" >>"$raw"
    # The peer unsets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for its own process.
    OMP_NUM_THREADS=$threads "$python" Benchmarks/peers/transformers_peer.py --threads "$threads" --runs "$runs" 2>/dev/null | tail -1 >>"$raw"
    echo "round $round/$rounds done ($(cut -d' ' -f1-3 /proc/loadavg) load)"
done

"$python" - "$raw" Benchmarks/results/transformers.json "$rounds" "$runs" "$threads" "$coretype" <<'PY'
import datetime, json, platform, statistics, sys
raw, out, rounds, runs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = [json.loads(l) for l in open(raw) if l.strip()]
ours = [r for r in rows if r["runtime"] == "tcompile-eager-swift"]
peer = [r for r in rows if r["runtime"] == "pytorch-eager"]
result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "machine": platform.machine(),
          "threads": threads, "openblas_coretype": sys.argv[6], "rounds": rounds, "runs_per_round": runs,
          "timer": "samples/transformers-bench (release), Benchmarks/peers/transformers_peer.py",
          "peer": {k: peer[0][k] for k in ("torch", "transformers")} if peer else None, "workloads": {}}
for name in ("minilm_1x128", "minilm_8x128", "gpt2_greedy_64"):
    def stats(rs):
        v = [r[name]["median_ms"] for r in rs if name in r]
        return {"median": statistics.median(v), "min": min(v), "max": max(v)} if v else None
    o, p = stats(ours), stats(peer)
    entry = {"ours_ms": o, "pytorch_ms": p}
    if o and p:
        entry["ratio_ours_over_pytorch"] = o["median"] / p["median"]
        per_round = [a[name]["median_ms"] / b[name]["median_ms"] for a, b in zip(ours, peer)]
        entry["ratio_per_round"] = {"min": min(per_round), "max": max(per_round)}
    if name.startswith("gpt2"):
        entry["ours_tokens_per_s"] = statistics.median(r[name]["tokens_per_s"] for r in ours)
        entry["pytorch_tokens_per_s"] = statistics.median(r[name]["tokens_per_s"] for r in peer)
    result["workloads"][name] = entry
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result["workloads"], indent=1))
PY
