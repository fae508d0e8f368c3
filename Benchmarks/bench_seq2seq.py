#!/usr/bin/env python3
"""The seq2seq workload of Benchmarks/run-all.sh: encoder-decoder generation from one source of 128 fixed token ids,
exactly 64 new tokens (min_new_tokens = max_new_tokens: EOS is masked on every step in every runtime), greedy and
beam search with 4 beams (length penalty 1, no n-gram blocking, no forced BOS/EOS), batch 1, 2 threads, float32
unless named, on random-weight checkpoints made by transformers at the sizes of t5-small (T5 v1.0) and bart-base
(BART's embedding scaled by 0.1 so that it does not repeat one token; random T5 still does).
Ours eager (`Seq2SeqLanguageModel.generate`) and compiled (`CompiledSeq2SeqGenerator`: encoder and one-token decoder
step traced and JIT-compiled; release build, Benchmarks/Sources/Seq2SeqBench) against PyTorch eager `generate`,
ONNX Runtime (our own torch.onnx export: encoder, first decoder step and decoder-with-past graphs, checked against
transformers when made; the greedy/beam loop is Python with NumPy bookkeeping, following HF's beam search) and
CTranslate2 (its converter, float32 and int8 weights; `Translator.translate_batch` with beam_size and
min/max_decoding_length), each in its own process, interleaved per round. Time to first token is a whole
1-token generation (encoder, first decoder step, choice); tokens/s is 64 ÷ the time of the whole 64-token
generation; decode tokens/s is 63 ÷ (that time − time to first token).

Writes Benchmarks/results/seq2seq.json (+ results/raw/seq2seq-*.jsonl) and the seq2seq block of docs/benchmarks.md.

  bench_seq2seq.py --bin-dir DIR --python PY [--threads 2] [--quick] [--rounds N] [--models t5small,bartbase]
  (run-all.sh passes SEQ2SEQ_MODELS as --models when set)
  --quick: one round (the source and the 64 new tokens stay as they are)
  --from-raw results/raw/seq2seq-*.jsonl: only aggregate and report an earlier run
"""
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_all  # noqa: E402  (run_process, cpu_name)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work", "seq2seq")
PEER = os.path.join(HERE, "peers", "seq2seq_peer.py")
MODELS = {
    "t5small": "T5 v1.0 at t5-small's sizes (6 + 6 layers, d_model 512, 8 heads, ReLU, tied head; 60.5M parameters, random weights)",
    "bartbase": "BART at bart-base's sizes (6 + 6 layers, d_model 768, 12 heads; 139M parameters, random weights)",
}
MODES = {"greedy": 1, "beam4": 4}
IMPLS = ["ours", "ours_eager", "torch", "ort", "ct2", "ct2_int8"]
LABEL = {"ours": "ours compiled (CompiledSeq2SeqGenerator)", "ours_eager": "ours eager (generate)", "torch": "PyTorch eager generate",
         "ort": "ONNX Runtime (encoder + decoder with past)", "ct2": "CTranslate2 float32", "ct2_int8": "CTranslate2 int8"}


# The helpers every workload shares (bench_all.py).
log, loadavg, stats, run = bench_all.log, bench_all.loadavg, bench_all.stats, bench_all.run_json


def prepare(a, env):
    """Random checkpoints and every runtime's converted model, once (kept in Benchmarks/.work/seq2seq)."""
    os.makedirs(WORK, exist_ok=True)
    prep = {"notes": {}, "prepare": {}}
    have = {name: subprocess.run([a.python, "-c", f"import {module}"], capture_output=True, env=env).returncode == 0
            for name, module in (("ort", "onnxruntime"), ("ct2", "ctranslate2"))}
    for name in have:
        if not have[name]:
            prep["notes"][name] = f"{'onnxruntime' if name == 'ort' else 'ctranslate2'} is not installed"
    for model in a.models:
        directory = os.path.join(WORK, model)
        artifacts = {"ort": os.path.join(WORK, f"{model}-onnx"), "ct2": os.path.join(WORK, f"{model}-ct2-float32"),
                     "ct2_int8": os.path.join(WORK, f"{model}-ct2-int8")}
        done = {"ort": os.path.join(artifacts["ort"], "decoder_with_past", "model.onnx"),
                "ct2": os.path.join(artifacts["ct2"], "model.bin"), "ct2_int8": os.path.join(artifacts["ct2_int8"], "model.bin")}
        steps = []
        if not os.path.exists(os.path.join(directory, "config.json")):
            steps.append(("checkpoint", [a.python, PEER, "random-checkpoint", "--arch", model, "--out", directory]))
        if have["ort"] and not os.path.exists(done["ort"]):
            steps.append(("ort", [a.python, PEER, "prepare-ort", "--model", directory, "--out", artifacts["ort"], "--threads", str(a.threads)]))
        for impl, quantization in (("ct2", "float32"), ("ct2_int8", "int8")):
            if have["ct2"] and not os.path.exists(done[impl]):
                steps.append((impl, [a.python, PEER, "prepare-ct2", "--model", directory, "--out", artifacts[impl],
                                     "--quantization", quantization]))
        for name, cmd in steps:
            log(f"prepare: {model} {name}")
            row = run(cmd, env)
            prep["prepare"][f"{model} {name}"] = {k: row.get(k) for k in ("wall_s", "max_rss_mb", "exit", "error", "max_abs_diff_vs_torch")}
            if row["exit"] != 0:
                log(f"  ! {model} {name}: {row.get('error')}")
                if name == "checkpoint":
                    sys.exit(f"bench_seq2seq: cannot make the {model} checkpoint: {row.get('error')}")
                prep["notes"][f"{name} {model}"] = f"preparation failed: {row.get('error')}"
        prep[model] = {"dir": directory, "artifacts": artifacts}
        prep[model]["available"] = ["ours", "ours_eager", "torch"] + [
            i for i in ("ort", "ct2", "ct2_int8")
            if have["ct2" if i.startswith("ct2") else i] and os.path.exists(done[i]) and f"{i} {model}" not in prep["notes"]]
    return prep



def main():
    a = bench_all.generation_arguments(MODELS, "seq2seq")
    rounds = a.rounds or (1 if a.quick else 3)
    source, tokens = 128, 64
    ours_env, peer_env = bench_all.runtime_envs(a.threads)
    started = time.time()
    stamp = bench_all.run_stamp()
    if a.from_raw:
        rows = [json.loads(l) for l in open(a.from_raw)]
        a.models = [m for m in MODELS if any(r.get("model") == m for r in rows)]
        prep = {"notes": json.load(open(os.path.join(WORK, "prepare.json")))["notes"], "prepare": {}}
        stamp = os.path.basename(a.from_raw).split("-", 1)[1].split(".")[0]
        rounds = max(r.get("round", 1) for r in rows)
        a.quick = rows[0].get("quick", rounds == 1)
        write(aggregate(rows, prep, a, rounds, source, tokens, stamp,
                        sum(r.get("wall_s", 0) for r in rows)))
        return
    raw_path = os.path.join(HERE, "results", "raw", f"seq2seq-{stamp}.jsonl")
    prep = prepare(a, peer_env)
    with open(os.path.join(WORK, "prepare.json"), "w") as f:
        json.dump(prep, f, indent=1)
    rows = []
    with open(raw_path, "w") as raw:
        for rnd in range(1, rounds + 1):
            for model in a.models:
                info = prep[model]
                for mode, beams in MODES.items():
                    order = info["available"] if rnd % 2 else info["available"][::-1]
                    for impl in order:
                        common = ["--beams", str(beams), "--source", str(source), "--tokens", str(tokens), "--reps", "1",
                                  "--threads", str(a.threads)]
                        if impl.startswith("ours"):
                            cmd = [os.path.join(a.bin_dir, "Seq2SeqBench"), "--model", info["dir"],
                                   "--mode", "compiled" if impl == "ours" else "eager"] + common
                            env = ours_env
                        else:
                            cmd = [a.python, PEER, "run", "--runtime", impl, "--model", info["dir"]] + common
                            if impl != "torch":
                                cmd += ["--artifact", info["artifacts"][impl]]
                            env = peer_env
                        row = run(cmd, env)
                        row.update(round=rnd, model=model, mode=mode, impl=impl, quick=a.quick)
                        rows.append(row)
                        raw.write(json.dumps(row, sort_keys=True) + "\n")
                        raw.flush()
                        if "tokens_per_s" in row:
                            log(f"  {model:8s} {mode:6s} {impl:10s} first token {row['first_token_ms']:7.1f} ms  {row['tokens_per_s']:6.1f} tokens/s"
                                f"  rss {row['max_rss_mb']:6.0f} MB  tokens {row.get('check_tokens')}")
                        else:
                            log(f"  ! {model} {mode} {impl}: exit {row['exit']}: {row.get('error')}")
    write(aggregate(rows, prep, a, rounds, source, tokens, stamp, time.time() - started))


def write(result):
    with open(os.path.join(HERE, "results", "seq2seq.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    sys.path.insert(0, HERE)
    import report
    report.write_seq2seq(result, os.path.join(ROOT, "docs", "benchmarks.md"))
    log(f"wrote Benchmarks/results/seq2seq.json and docs/benchmarks.md's seq2seq block ({result['seconds']:.0f} s of measurements)")


def aggregate(rows, prep, a, rounds, source, tokens, stamp, seconds):
    ok = [r for r in rows if r.get("exit") == 0 and "tokens_per_s" in r]
    workloads = {}
    for model in a.models:
        for mode, beams in MODES.items():
            w = {"checkpoint": model, "model": MODELS[model], "mode": mode, "num_beams": beams, "source_tokens": source, "new_tokens": tokens, "batch": 1,
                 "impls": {}}
            # The reference for "same tokens": PyTorch's generate (the first round's 64 tokens).
            reference = next((r["all_tokens"] for r in ok if (r["model"], r["mode"], r["impl"]) == (model, mode, "torch")), None)
            for impl in IMPLS:
                rs = [r for r in ok if (r["model"], r["mode"], r["impl"]) == (model, mode, impl)]
                if not rs:
                    continue
                e = {"tokens_per_s": stats([r["tokens_per_s"] for r in rs]), "first_token_ms": stats([r["first_token_ms"] for r in rs]),
                     "decode_tokens_per_s": stats([r["decode_tokens_per_s"] for r in rs]), "total_ms": stats([r["total_ms"] for r in rs]),
                     "load_ms": stats([r.get("load_ms") for r in rs]), "compile_ms": stats([r.get("compile_ms") for r in rs]),
                     "max_rss_mb": stats([r["max_rss_mb"] for r in rs]), "check_tokens": rs[0].get("check_tokens"),
                     "processes": len(rs)}
                if reference is not None:
                    mine = rs[0]["all_tokens"]
                    same = next((i for i, (x, y) in enumerate(zip(mine, reference)) if x != y), min(len(mine), len(reference)))
                    e["same_tokens_as_torch"] = same   # length of the common prefix with PyTorch's 64 tokens
                for k in ("torch", "transformers", "onnxruntime", "ctranslate2"):
                    if k in rs[0]:
                        e[k] = rs[0][k]
                w["impls"][impl] = e
            if "ours" in w["impls"]:
                w["ours_vs"] = {impl: w["impls"]["ours"]["tokens_per_s"]["median"] / e["tokens_per_s"]["median"]
                                for impl, e in w["impls"].items() if impl != "ours"}
            workloads[f"{model}_{mode}"] = w
    errors = [{"model": r.get("model"), "mode": r.get("mode"), "impl": r.get("impl"), "error": r.get("error")}
              for r in rows if r.get("exit") != 0]
    return {"date": datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).isoformat(timespec="seconds"),
            "mode": "quick" if a.quick else "full", "rounds": rounds, "threads": a.threads, "seconds": seconds,
            "machine": {"cpu": bench_all.cpu_name(), "cores": os.cpu_count(), "load1": stats([r.get("load1") for r in rows])},
            "method": " ".join(__doc__.split("\n\n")[0].split()), "labels": LABEL, "workloads": workloads, "notes": prep["notes"],
            "models_not_run": [m for m in MODELS if m not in a.models], "prepare": prep["prepare"], "errors": errors}


if __name__ == "__main__":
    main()
