#!/usr/bin/env bash
# Tokenizer throughput, ours against Hugging Face tokenizers (Rust, called from Python), in the same run.
#
# Builds the TokenizerThroughput timer in release, then runs ROUNDS rounds; each round runs, for WordPiece
# (all-MiniLM-L6-v2) and byte-level BPE (the GPT-2-style fixture), our timer and the Python peer one after
# the other (interleaved, so that both see the same machine load). Each invocation times a warm-up pass and
# PASSES passes of 10 x encode-batch(corpus) on one thread and reports its median MB/s (UTF-8 input bytes).
# Writes results/tokenizers.json: medians over rounds with min and max, and the ratio ours / HF.
#
# Needs ../.models/all-MiniLM-L6-v2 (scripts/fetch-minilm.sh) and a Python with tokenizers (PYTHON, default
# a .venv-bench made by Benchmarks/peers/python.sh). Usage: Benchmarks/run-tokenizers.sh   (ROUNDS=5 PASSES=3 by default)
set -euo pipefail
cd "$(dirname "$0")"
root=..
python=$(peers/python.sh)
rounds=${ROUNDS:-5}
passes=${PASSES:-3}

swift build -c release --scratch-path .build-tok --product TokenizerThroughput
timer=.build-tok/release/TokenizerThroughput

mkdir -p results/raw
raw=results/raw/tokenizers-$(date -u +%Y%m%dT%H%M%SZ).jsonl
for round in $(seq "$rounds"); do
    for kind in wordpiece bpe; do
        "$timer" "$kind" "$root" "$passes" >>"$raw"
        RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$python" peers/tokenizers_peer.py "$kind" "$root" "$passes" >>"$raw"
    done
    echo "round $round/$rounds done"
done

"$python" - "$raw" results/tokenizers.json "$rounds" "$passes" <<'PY'
import json, platform, statistics, subprocess, sys, datetime
raw, out, rounds, passes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = [json.loads(line) for line in open(raw)]
result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
          "machine": platform.processor() or platform.machine(), "threads": 1, "rounds": rounds,
          "passes_per_invocation": passes, "corpus": "Tests/TokenizersTests/Fixtures/corpus.json (x10 per pass)",
          "timer": "Benchmarks/Sources/TokenizerThroughput (release), peers/tokenizers_peer.py",
          "swift": subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
          "results": {}}
for kind in ["wordpiece", "bpe"]:
    ours = [r["mb_per_s"] for r in rows if r["tokenizer"] == kind and r["impl"] == "tcompile"]
    hf = [r for r in rows if r["tokenizer"] == kind and r["impl"] == "hf-tokenizers"]
    theirs = [r["mb_per_s"] for r in hf]
    ratios = [a / b for a, b in zip(ours, theirs)]
    tokens = {r["impl"]: r["tokens"] for r in rows if r["tokenizer"] == kind}
    result["results"][kind] = {
        "ours_mb_per_s": {"median": statistics.median(ours), "min": min(ours), "max": max(ours)},
        "hf_mb_per_s": {"median": statistics.median(theirs), "min": min(theirs), "max": max(theirs),
                        "version": hf[0]["version"]},
        "ratio_median": statistics.median(ours) / statistics.median(theirs),
        "ratio_per_round": {"min": min(ratios), "max": max(ratios)},
        "same_token_count": len(set(tokens.values())) == 1,
    }
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result["results"], indent=2))
PY
