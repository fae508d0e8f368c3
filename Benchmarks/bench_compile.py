#!/usr/bin/env python3
"""The compile workload of Benchmarks/run-all.sh: how long a user waits before a model runs, ours against the
peers' compile steps, each in its own process, interleaved per round, 2 threads.

Ours (the release `tcompile` of the Benchmarks build):
- export + compile: `tcompile export` (trace) then `tcompile model.json -o DIR` (the AOT library), cold (an
  empty compile cache for each round); then with the cache it filled, into a new directory (cached: the library
  restored from the cache's record, its weights file a hard link to the one the cache kept) and the same
  command again (up to date: nothing to write); and the same in one command (manifest → library: `tcompile
  manifest.json -o DIR` on a manifest naming the checkpoint, cold, with an empty cache of its own);
- JIT first result: `tcompile run model.json --compiled --dims batch=1,seq=128` with an empty compile cache
  (cold) and then again with the cache it filled (cached), the whole process;
- the GPT-2 generating library (prefill and decode kernels in one library): `tcompile CHECKPOINT --generate`,
  cold, then cached into a new directory, then up to date;
- two synthetic graphs: a chain of 20,000 elementwise ops and a concat of 3,000 inputs (`tcompile model.json`).

Peers, on the same models' ONNX exports (made by bench_all.py's prepare step, in Benchmarks/.work/onnx):
ONNX Runtime's session creation with all graph optimizations (its transformer optimizer is a separate offline
step and not counted) and OpenVINO's compile_model (f32), from models_peer.py `compile`.

Writes Benchmarks/results/compile.json (+ results/raw/compile-*.jsonl) and the compile block of
docs/benchmarks.md.

  bench_compile.py --bin-dir DIR --python PY [--threads 2] [--quick] [--rounds N]
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_all  # noqa: E402  (the Runner, the models, the CPU's name)

HERE = bench_all.HERE
ROOT = bench_all.ROOT
WORK = os.path.join(bench_all.WORK, "compile")
GOALS = {  # issue #20's goals, in seconds ("any cached compile ≤ 0.2 s")
    "minilm export+compile": 2.0, "minilm compile (cached, new directory)": 0.2, "minilm compile (up to date)": 0.2,
    "bertbase export+compile": 4.0, "bertbase compile (cached, new directory)": 0.2, "bertbase compile (up to date)": 0.2,
    "gpt2 generator": 5.0, "gpt2 generator (cached, new directory)": 0.2, "gpt2 generator (up to date)": 0.2,
    "minilm JIT first result (cold)": 2.5, "minilm JIT first result (cached)": 0.3,
    "chain 20,000 ops": 5.0, "concat 3,000 inputs": 5.0,
}
# Rows without a goal of their own, shown after the goal's row they belong to: the same checkpoint to library in one
# command (a tcompile.model/2 manifest naming the checkpoint: traced and compiled in one process, with no graph file
# and no copy of the weights written between the two steps).
EXTRA = {"minilm export+compile": ["minilm manifest → library"], "bertbase export+compile": ["bertbase manifest → library"]}


def synthetic_graphs(directory):
    """model.json files (tcompile.graph/1, no constants) of the two long graphs."""
    os.makedirs(directory, exist_ok=True)

    def write(name, nodes, outputs):
        graph = {"format": "tcompile.graph/1", "name": name, "constants": name + ".weights.safetensors",
                 "symbols": [{"name": "n", "min": 1, "max": 64}], "nodes": nodes, "outputs": outputs}
        with open(os.path.join(directory, name + ".json"), "w") as f:
            json.dump(graph, f)
        header = b"{}"
        with open(os.path.join(directory, name + ".weights.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header)
        return os.path.join(directory, name + ".json")

    f32 = lambda shape: {"dtype": "f32", "shape": shape}  # noqa: E731
    nodes = [{"id": 0, "op": "input", "attributes": {"name": '"x"'}, "inputs": [], "type": f32(["n", 64])}]
    unary = ["tanh", "relu", "neg", "abs"]
    for i in range(1, 20001):
        if i % 2:
            nodes.append({"id": i, "op": "add", "inputs": [i - 1, 0], "type": f32(["n", 64])})
        else:
            nodes.append({"id": i, "op": unary[(i // 2) % 4], "inputs": [i - 1], "type": f32(["n", 64])})
    chain = write("chain", nodes, [{"name": "y", "value": 20000}])
    nodes = [{"id": i, "op": "input", "attributes": {"name": f'"x{i}"'}, "inputs": [], "type": f32(["n", 4])}
             for i in range(3000)]
    nodes.append({"id": 3000, "op": "concat", "attributes": {"dim": "1"}, "inputs": list(range(3000)),
                  "type": f32(["n", 12000])})
    concat = write("concat", nodes, [{"name": "y", "value": 3000}])
    return chain, concat


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--python", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int)
    a = p.parse_args()
    rounds = a.rounds or (1 if a.quick else 3)
    stamp = bench_all.run_stamp()
    raw = os.path.join(HERE, "results", "raw", f"compile-{stamp}.jsonl")
    runner_args = argparse.Namespace(bin_dir=a.bin_dir, threads=a.threads, raw=raw, python=a.python)
    r = bench_all.Runner(runner_args)
    tcompile = os.path.join(a.bin_dir, "tcompile")
    peer = os.path.join(HERE, "peers", "models_peer.py")
    onnx_dir = os.path.join(bench_all.WORK, "onnx")
    # The checkpoints and ONNX exports the encoder workloads use (made once, as bench_all.py makes them).
    models = {"minilm": bench_all.MODELS["minilm"], "bertbase": bench_all.MODELS["bertbase"]}
    for key, model in models.items():
        if "arch" in model and not os.path.exists(os.path.join(model["dir"], "model.safetensors")):
            r.run(f"checkpoint {key}", [a.python, peer, "random-checkpoint", "--arch", model["arch"], "--out", model["dir"]], peer=True)
        if not os.path.exists(os.path.join(onnx_dir, key + ".onnx")):
            r.run(f"onnx {key}", [a.python, peer, "prepare", "--model", model["dir"], "--out", onnx_dir, "--name", key,
                                  "--num-heads", str(model["heads"]), "--hidden", str(model["hidden"]),
                                  "--threads", str(a.threads)], peer=True)
    gpt2_dir = os.path.join(bench_all.WORK, "gpt2-random")
    if not os.path.exists(os.path.join(gpt2_dir, "model.safetensors")):
        r.run("checkpoint gpt2", [a.python, peer, "random-checkpoint", "--arch", "gpt2", "--out", gpt2_dir], peer=True)
    chain, concat = synthetic_graphs(os.path.join(WORK, "graphs"))

    rows = []

    def record(workload, impl, seconds, row, extra=None):
        if row.get("exit") != 0:
            bench_all.log(f"  ! {workload} {impl}: {row.get('error')}")
            return
        entry = {"workload": workload, "impl": impl, "seconds": seconds, "load1": row["load1"], **(extra or {})}
        rows.append(entry)
        bench_all.log(f"  {workload:34s} {impl:10s} {seconds:7.2f} s")

    for rnd in range(1, rounds + 1):
        bench_all.log(f"round {rnd}/{rounds} (load {bench_all.loadavg():.2f})")
        scratch = tempfile.mkdtemp(dir=WORK)
        # Libraries use their own compile cache, empty at the start of the round (so the first compile is cold).
        aot = ["env", f"TCOMPILE_CACHE_DIR={os.path.join(scratch, 'aot-cache')}", tcompile]
        try:
            for key, model in models.items():
                out = os.path.join(scratch, key)
                e = r.run(f"export {key}", aot + ["export", model["dir"], "--task", "feature-extraction", "--name", key,
                                                  "--max-batch", "8", "--max-seq", "128", "-o", os.path.join(out, "model.json"), "-q"],
                          peer=False, parse=False)
                c = r.run(f"compile {key}", aot + [os.path.join(out, "model.json"), "-o", os.path.join(out, "lib"), "-q"],
                          peer=False, parse=False)
                if e.get("exit") == 0:
                    record(f"{key} export+compile", "ours", e["wall_s"] + c["wall_s"], c,
                           {"export_s": e["wall_s"], "compile_s": c["wall_s"]})
                    c = r.run(f"compile {key} cached", aot + [os.path.join(out, "model.json"), "-o", os.path.join(out, "lib2"), "-q"],
                              peer=False, parse=False)
                    record(f"{key} compile (cached, new directory)", "ours", c["wall_s"], c)
                    c = r.run(f"compile {key} up to date", aot + [os.path.join(out, "model.json"), "-o", os.path.join(out, "lib2"), "-q"],
                              peer=False, parse=False)
                    record(f"{key} compile (up to date)", "ours", c["wall_s"], c)
                    manifest = os.path.join(out, "manifest.json")
                    with open(manifest, "w") as f:
                        json.dump({"format": "tcompile.model/2", "name": key, "checkpoint": os.path.relpath(model["dir"], out),
                                   "task": "feature-extraction", "dynamic_dims": {"batch": {"max": 8}, "seq": {"max": 128}}}, f)
                    cold = ["env", f"TCOMPILE_CACHE_DIR={os.path.join(scratch, 'manifest-cache-' + key)}", tcompile]
                    c = r.run(f"manifest {key}", cold + [manifest, "-o", os.path.join(out, "lib-manifest"), "-q"], peer=False, parse=False)
                    record(f"{key} manifest → library", "ours", c["wall_s"], c)
                for runtime in ("ort", "openvino"):
                    row = r.run(f"compile {key} {runtime}", [a.python, peer, "compile", "--runtime", runtime, "--onnx-dir", onnx_dir,
                                                             "--name", key, "--threads", str(a.threads)], peer=True)
                    if "compile_ms" in row:
                        record(f"{key} export+compile", runtime, row["compile_ms"] / 1e3, row)
            # The JIT's first result, with an empty compile cache and then with the one it filled.
            cache = os.path.join(scratch, "cache")
            jit = [tcompile, "run", os.path.join(scratch, "minilm", "model.json"), "--compiled", "--dims", "batch=1,seq=128"]
            for state in ("cold", "cached"):
                row = r.run(f"jit {state}", ["env", f"TCOMPILE_CACHE_DIR={cache}"] + jit, peer=False, parse=False)
                record(f"minilm JIT first result ({state})", "ours", row["wall_s"], row)
            for state, folder in (("", "gpt2"), (" (cached, new directory)", "gpt2-2"), (" (up to date)", "gpt2-2")):
                row = r.run("gpt2 generator" + state, aot + [gpt2_dir, "--generate", "--max-seq", "256", "-o", os.path.join(scratch, folder), "-q"],
                            peer=False, parse=False)
                record("gpt2 generator" + state, "ours", row["wall_s"], row)
            for name, graph in (("chain 20,000 ops", chain), ("concat 3,000 inputs", concat)):
                row = r.run(name, aot + [graph, "-o", os.path.join(scratch, name.split()[0]), "-q"], peer=False, parse=False)
                record(name, "ours", row["wall_s"], row)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    r.raw.close()

    # Aggregate: the median over rounds of each (workload, impl).
    table = {}
    for row in rows:
        table.setdefault(row["workload"], {}).setdefault(row["impl"], []).append(row["seconds"])
    summary = {w: {i: statistics.median(v) for i, v in impls.items()} for w, impls in table.items()}
    loads = [row["load1"] for row in rows]
    result = {
        "date": datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).isoformat(timespec="seconds"),
        "rounds": rounds, "threads": a.threads, "cpu": bench_all.cpu_name(), "machine": platform.machine(),
        "load_average": {"min": min(loads, default=0), "max": max(loads, default=0)},
        "goals_s": GOALS, "median_s": summary, "raw": os.path.relpath(raw, HERE),
    }
    with open(os.path.join(HERE, "results", "compile.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    update_docs(result)


def update_docs(result):
    """The compile block of docs/benchmarks.md, from results/compile.json."""
    lines = [f"Compile workload of {result['date'][:10]} ({result['cpu']}, {result['threads']} threads, "
             f"{result['rounds']} round(s), load average {result['load_average']['min']:.1f}–{result['load_average']['max']:.1f}; "
             "Benchmarks/results/compile.json). Seconds, median over rounds, each a whole process:", "",
             "| workload | ours | goal | ONNX Runtime session | OpenVINO compile_model |", "| --- | ---: | ---: | ---: | ---: |"]
    for workload, goal in GOALS.items():
        for name in [workload] + EXTRA.get(workload, []):
            cells = result["median_s"].get(name, {})
            if name != workload and not cells:
                continue
            fmt = lambda impl: f"{cells[impl]:.2f}" if impl in cells else "–"  # noqa: E731
            lines.append(f"| {name} | {fmt('ours')} | {'≤ %g' % goal if name == workload else '–'} | {fmt('ort')} | {fmt('openvino')} |")
    lines.append("")
    lines.append("Ours is the release `tcompile` linked as `scripts/build-tcompile.sh` links it (LLVM and the Swift runtime "
                 "statically). Ours for the encoders is `tcompile export` + `tcompile model.json` (trace, passes, LLVM, writing the library "
                 "and weights); \"manifest → library\" is the same in one command, `tcompile manifest.json` on a `tcompile.model/2` "
                 "manifest naming the checkpoint (traced and compiled in one process, with its own empty compile cache); "
                 "the peers' figure is their compile step alone on an ONNX export made beforehand. \"Cached, new directory\" "
                 "is the same compile into another directory with the compile cache the cold compile filled (the library restored from "
                 "the cache's record, its weights file linked); \"up to date\" is that command once more, whose outputs are untouched, "
                 "so nothing is written.")
    import report
    begin, end = "<!-- compile:begin -->", "<!-- compile:end -->"
    report.replace_block(os.path.join(ROOT, "docs", "benchmarks.md"), begin, end, begin + "\n" + "\n".join(lines) + "\n" + end,
                         "Compile time")


if __name__ == "__main__":
    main()
