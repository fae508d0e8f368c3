#!/usr/bin/env bash
# Eager tensor kernels against a direct cblas_sgemm call (same process) and against NumPy (interleaved
# processes), in one run. Writes results/tensors.json with medians over rounds, min/max, and ratios.
#
# Usage: Benchmarks/run-tensors.sh   (ROUNDS=5 REPS=20 THREADS=2 by default; PYTHON: default a .venv-bench made by Benchmarks/peers/python.sh)
set -euo pipefail
cd "$(dirname "$0")"
python=$(peers/python.sh)
rounds=${ROUNDS:-5}
reps=${REPS:-20}
threads=${THREADS:-2}

./swift-build.sh --scratch-path .build-bench --product TensorThroughput
timer=.build-bench/release/TensorThroughput

mkdir -p results/raw
raw=results/raw/tensors-$(date -u +%Y%m%dT%H%M%SZ).jsonl
for round in $(seq "$rounds"); do
    OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-COOPERLAKE} "$timer" "$threads" "$reps" >>"$raw"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 "$python" peers/tensors_peer.py "$reps" >>"$raw"
    echo "round $round/$rounds done"
done

"$python" - "$raw" results/tensors.json "$rounds" "$reps" "$threads" <<'PY'
import json, statistics, sys, datetime, platform
raw, out, rounds, reps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = [json.loads(l) for l in open(raw)]
by = {}
for r in rows:
    by.setdefault(r["workload"], []).append(r)
result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
          "machine": platform.machine(), "rounds": rounds, "reps_per_round": reps, "workloads": {}}
for name, rs in by.items():
    entry = {}
    for key in ("ours_ms", "cblas_ms", "numpy_ms"):
        vals = [r[key] for r in rs if key in r]
        if vals:
            entry[key] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
    if "cblas_ms" in entry:
        entry["threads"] = threads
        entry["ours_fraction_of_cblas"] = entry["cblas_ms"]["median"] / entry["ours_ms"]["median"]
        entry["ours_gflops"] = statistics.median(r["ours_gflops"] for r in rs if "ours_gflops" in r)
    if "numpy_ms" in entry:
        entry["threads"] = 1
        entry["speedup_vs_numpy"] = entry["numpy_ms"]["median"] / entry["ours_ms"]["median"]
    result["workloads"][name] = entry
json.dump(result, open(out, "w"), indent=2)
for name, e in result["workloads"].items():
    extra = (f"{100 * e['ours_fraction_of_cblas']:.0f}% of cblas_sgemm ({e['ours_gflops']:.0f} GFLOP/s)" if "ours_fraction_of_cblas" in e
             else f"{e['speedup_vs_numpy']:.2f}x NumPy" if "speedup_vs_numpy" in e else "")
    print(f"{name:32s} ours {e['ours_ms']['median']:8.3f} ms  {extra}")
PY
