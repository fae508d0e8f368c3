#!/usr/bin/env python3
"""The decode workload of Benchmarks/run-all.sh: greedy generation, batch 1, a prompt of 128 tokens (prefill)
then 128 new tokens one at a time (decode), 2 threads, on random-weight checkpoints at the sizes of GPT-2
small, SmolLM2-135M and TinyLlama-1.1B (Llama architecture). Ours twice: the AOT generating library
(`tcompile CHECKPOINT --generate`, its `NAME_gen_*` state API called from C by Benchmarks/decode/aot_decode.c,
as an app links it; also at `--precision bf16` where the CPU has AVX512-BF16 and `--precision int8` where it has AVX512-VNNI, whose shares of bandwidth are not given
since the bytes counted are float32) and the JIT's `CompiledGenerator` (release build, Benchmarks/Sources/DecodeBench), against
PyTorch eager `generate`, ONNX Runtime (prefill and decoder-with-past
graphs from our own torch.onnx wrapper), CTranslate2 (float32, its converter) and llama.cpp
(llama-cpp-python, f32 GGUF from its convert_hf_to_gguf.py) when those are installed, each in its own
process, interleaved per round, with the machine's read bandwidth (Benchmarks/decode/stream_read.c: two
threads summing a 1 GiB buffer) sampled before each runtime and after the last in the same run. Two shares
are given: of the best sample of the run (load from other work only ever lowers a sample, so this share is the
conservative one), and of the bandwidth the runtime had while it ran (per process, the larger of the samples
just before and just after it; the median over processes), since on a shared machine the bandwidth moves by
up to 40 % from minute to minute.

Decode reads every weight once per token, so it is bound by memory bandwidth: each runtime's decode rate is
also reported as weight bytes read per token × tokens/s ÷ the measured bandwidth. Weight bytes per token are
the float32 parameters a step reads: all of them except the input-embedding table when the head has its own
matrix (the embedding is then a one-row gather) and GPT-2's position table; a tied head reads the embedding
matrix once. KV-cache reads (< 1 % here) are not counted.

Writes Benchmarks/results/decode.json (+ results/raw/decode-*.jsonl) and the decode block of README.md.

  bench_decode.py --bin-dir DIR --python PY [--threads 2] [--quick] [--rounds N] [--models gpt2,smollm2,tinyllama]
  (run-all.sh passes DECODE_MODELS as --models when set)
  --quick: one round, 32 new tokens instead of 128 (the prompt stays 128)
  --from-raw results/raw/decode-*.jsonl: only aggregate and report an earlier run
"""
import datetime
import glob
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_all  # noqa: E402  (run_process)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work", "decode")
PEER = os.path.join(HERE, "peers", "decode_peer.py")
MODELS = {
    "gpt2": "GPT-2 small sizes (124M parameters, random weights)",
    "smollm2": "Llama architecture at SmolLM2-135M's sizes (30 layers, hidden 576, GQA 9/3, tied head; random weights)",
    "tinyllama": "Llama architecture at TinyLlama-1.1B's sizes (22 layers, hidden 2048, GQA 32/4; random weights)",
}
IMPLS = ["aot", "aot_bf16", "aot_int8", "ours", "torch", "ort", "ct2", "ct2_int8", "llamacpp"]
LABEL = {"aot": "ours (AOT library from C)", "aot_bf16": "ours bf16 (AOT library from C, --precision bf16)",
         "aot_int8": "ours int8 (AOT library from C, --precision int8)",
         "ours": "ours (CompiledGenerator, JIT)", "torch": "PyTorch eager generate",
         "ort": "ONNX Runtime (decoder with past)",
         "ct2": "CTranslate2 float32", "ct2_int8": "CTranslate2 int8 (the float32 model loaded with compute_type int8)", "llamacpp": "llama.cpp f32 (llama-cpp-python)"}


# The helpers every workload shares (bench_all.py).
log, loadavg, stats, run = bench_all.log, bench_all.loadavg, bench_all.stats, bench_all.run_json


def weight_bytes_per_token(directory):
    """Float32 bytes of the parameters one decode step reads (see the module doc)."""
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    total, embedding, positions = 0, 0, 0
    for path in glob.glob(os.path.join(directory, "*.safetensors")):
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            elements = 1
            for d in info["shape"]:
                elements *= d
            total += elements * 4
            if name.endswith("embed_tokens.weight") or name.endswith("wte.weight"):
                embedding = elements * 4
            if name.endswith("wpe.weight"):
                positions = elements * 4
    tied = config.get("tie_word_embeddings", True)
    return total - positions - (0 if tied else embedding)


def llama_cpp_convert_script(python, env):
    """convert_hf_to_gguf.py of the installed llama-cpp-python's own llama.cpp (its source distribution), or
    (None, why)."""
    probe = subprocess.run([python, "-c", "import llama_cpp; print(llama_cpp.__version__)"], capture_output=True, text=True, env=env)
    if probe.returncode != 0:
        return None, "llama-cpp-python is not installed (pip install llama-cpp-python builds llama.cpp from source)"
    version = probe.stdout.strip()
    source = os.path.join(WORK, f"llama-cpp-python-{version}")
    script = glob.glob(os.path.join(source, "*", "vendor", "llama.cpp", "convert_hf_to_gguf.py"))
    if not script:
        os.makedirs(source, exist_ok=True)
        got = subprocess.run([python, "-m", "pip", "download", f"llama-cpp-python=={version}", "--no-deps", "--no-binary", "llama-cpp-python",
                              "-d", source], capture_output=True, text=True, env=env)
        archives = glob.glob(os.path.join(source, "*.tar.gz"))
        if got.returncode != 0 or not archives:
            return None, f"cannot fetch the llama-cpp-python {version} source distribution for its convert_hf_to_gguf.py"
        with tarfile.open(archives[0]) as archive:
            members = [m for m in archive.getmembers() if "/vendor/llama.cpp/convert_hf_to_gguf.py" in m.name
                       or "/vendor/llama.cpp/gguf-py/" in m.name or "/vendor/llama.cpp/conversion/" in m.name]
            archive.extractall(source, members=members, filter="data")
        script = glob.glob(os.path.join(source, "*", "vendor", "llama.cpp", "convert_hf_to_gguf.py"))
    return (script[0], None) if script else (None, "convert_hf_to_gguf.py is not in the source distribution")


def prepare(a, env):
    """Random checkpoints and every runtime's converted model, once (kept in Benchmarks/.work/decode)."""
    os.makedirs(WORK, exist_ok=True)
    prep = {"notes": {}, "prepare": {}}
    stream = os.path.join(WORK, "stream_read")
    subprocess.run(["cc", "-O3", "-march=native", "-pthread", os.path.join(HERE, "decode", "stream_read.c"), "-o", stream], check=True)
    prep["stream_read"] = stream
    have = {name: subprocess.run([a.python, "-c", f"import {module}"], capture_output=True, env=env).returncode == 0
            for name, module in (("ort", "onnxruntime"), ("ct2", "ctranslate2"), ("llamacpp", "llama_cpp"))}
    script, why = llama_cpp_convert_script(a.python, env) if have["llamacpp"] else (None, "llama-cpp-python is not installed")
    if why:
        prep["notes"]["llamacpp"] = why
    # Ours as an app links it (the AOT library from C), also at bf16 where the CPU has AVX512-BF16 (the
    # library refuses to run elsewhere); rebuilt every run, which the compile cache makes quick.
    tcompile = os.path.join(a.bin_dir, "tcompile")
    have["aot"] = os.path.exists(tcompile)
    have["aot_bf16"] = have["aot"] and "avx512_bf16" in open("/proc/cpuinfo").read()
    if not have["aot"]:
        prep["notes"]["aot"] = f"{tcompile} is not built"
    elif not have["aot_bf16"]:
        prep["notes"]["aot_bf16"] = "this CPU lacks AVX512-BF16"
    have["ct2_int8"] = have["ct2"]
    have["aot_int8"] = have["aot"] and "avx512_vnni" in open("/proc/cpuinfo").read()
    if have["aot"] and not have["aot_int8"]:
        prep["notes"]["aot_int8"] = "this CPU lacks AVX512-VNNI"
    for model in a.models:
        directory = os.path.join(WORK, model)
        steps = []
        if not os.path.exists(os.path.join(directory, "config.json")):
            steps.append(("checkpoint", [a.python, PEER, "random-checkpoint", "--arch", model, "--out", directory], None))
        aot = os.path.join(WORK, f"{model}-aot")
        for impl, out, flags in [("aot", aot, []), ("aot_bf16", aot + "-bf16", ["--precision", "bf16"]),
                                 ("aot_int8", aot + "-int8", ["--precision", "int8"])]:
            if not have[impl]:
                continue
            steps.append((impl, [tcompile, directory, "--generate", "--max-seq", "256", "--name", "bench", "-o", out, "-q"] + flags, None))
            steps.append((f"{impl} program", ["cc", "-O2", "-std=c11", os.path.join(HERE, "decode", "aot_decode.c"), "-I", out, "-L", out,
                                              "-lbench", "-lm", "-lpthread", "-o", os.path.join(out, "aot_decode")], None))
        if have["ort"] and not os.path.exists(os.path.join(WORK, f"{model}-onnx", "decode", "model.onnx")):
            steps.append(("ort", [a.python, PEER, "prepare-ort", "--model", directory, "--out", os.path.join(WORK, f"{model}-onnx"),
                                  "--threads", str(a.threads)], None))
        if have["ct2"] and not os.path.exists(os.path.join(WORK, f"{model}-ct2", "model.bin")):
            steps.append(("ct2", [a.python, PEER, "prepare-ct2", "--model", directory, "--out", os.path.join(WORK, f"{model}-ct2")], None))
        if script and not os.path.exists(os.path.join(WORK, f"{model}-f32.gguf")):
            steps.append(("llamacpp", [a.python, PEER, "prepare-gguf", "--model", directory, "--out", os.path.join(WORK, f"{model}-f32.gguf"),
                                       "--convert-script", script], None))
        for name, cmd, _ in steps:
            log(f"prepare: {model} {name}")
            row = run(cmd, env)
            prep["prepare"][f"{model} {name}"] = {k: row.get(k) for k in ("wall_s", "max_rss_mb", "exit", "error")}
            if row["exit"] != 0:
                log(f"  ! {model} {name}: {row.get('error')}")
                if name == "checkpoint":
                    sys.exit(f"bench_decode: cannot make the {model} checkpoint: {row.get('error')}")
                prep["notes"][f"{name} {model}"] = f"preparation failed: {row.get('error')}"
        prep[model] = {"dir": directory, "weight_bytes_per_token": weight_bytes_per_token(directory),
                       "artifacts": {"aot": os.path.join(aot, "aot_decode"), "aot_bf16": os.path.join(aot + "-bf16", "aot_decode"),
                                     "aot_int8": os.path.join(aot + "-int8", "aot_decode"), "ort": os.path.join(WORK, f"{model}-onnx"), "ct2": os.path.join(WORK, f"{model}-ct2"),
                                     "llamacpp": os.path.join(WORK, f"{model}-f32.gguf")}}
        prep[model]["artifacts"]["ct2_int8"] = prep[model]["artifacts"]["ct2"]
        prep[model]["available"] = ["ours", "torch"] + [i for i in ("aot", "aot_bf16", "aot_int8", "ort", "ct2", "ct2_int8", "llamacpp")
                                                        if have[i] and os.path.exists(prep[model]["artifacts"][i])
                                                        and f"{i} {model}" not in prep["notes"] and f"{i} program {model}" not in prep["notes"]]
    return prep



def main():
    a = bench_all.generation_arguments(MODELS, "decode")
    rounds = a.rounds or (1 if a.quick else 3)
    prompt, tokens = 128, (32 if a.quick else 128)
    ours_env, peer_env = bench_all.runtime_envs(a.threads)
    started = time.time()
    stamp = bench_all.run_stamp()
    raw_path = os.path.join(HERE, "results", "raw", f"decode-{stamp}.jsonl")
    if a.from_raw:
        rows = [json.loads(l) for l in open(a.from_raw)]
        a.models = [m for m in MODELS if any(r.get("workload") == m for r in rows)]
        prep = {"notes": json.load(open(os.path.join(WORK, "prepare.json")))["notes"], "prepare": {}}
        prep.update({m: {"weight_bytes_per_token": weight_bytes_per_token(os.path.join(WORK, m))} for m in a.models})
        stamp = os.path.basename(a.from_raw).split("-", 1)[1].split(".")[0]
        # The run's new tokens, as its runtimes reported them (a quick run made 32).
        tokens = next((r["tokens"] for r in rows if isinstance(r.get("tokens"), int)), tokens)
        a.quick = tokens == 32
        write(aggregate(rows, prep, a, max(r.get("round", 1) for r in rows), prompt, tokens, stamp,
                        sum(r.get("wall_s", 0) for r in rows)))
        return
    prep = prepare(a, peer_env)
    with open(os.path.join(WORK, "prepare.json"), "w") as f:
        json.dump(prep, f, indent=1)
    rows = []
    with open(raw_path, "w") as raw:
        for rnd in range(1, rounds + 1):
            for model in a.models:
                info = prep[model]
                bw = run([prep["stream_read"], str(a.threads), "5"], ours_env)
                bw.update(round=rnd, workload=model, impl="stream_read")
                rows.append(bw)
                raw.write(json.dumps(bw, sort_keys=True) + "\n")
                log(f"round {rnd} {model}: read bandwidth {bw.get('read_gb_per_s', float('nan')):.1f} GB/s (load {bw['load1']:.1f})")
                order = info["available"] if rnd % 2 else info["available"][::-1]
                for i, impl in enumerate(order):
                    if i:   # the bandwidth again before each runtime: load from other work only lowers a sample
                        bw = run([prep["stream_read"], str(a.threads), "5"], ours_env)
                        bw.update(round=rnd, workload=model, impl="stream_read")
                        rows.append(bw)
                        raw.write(json.dumps(bw, sort_keys=True) + "\n")
                    common = ["--prompt", str(prompt), "--tokens", str(tokens), "--reps", "1", "--threads", str(a.threads)]
                    if impl == "ours":
                        cmd, env = [os.path.join(a.bin_dir, "DecodeBench"), "--model", info["dir"]] + common, ours_env
                    elif impl in ("aot", "aot_bf16", "aot_int8"):
                        weights = os.path.join(os.path.dirname(info["artifacts"][impl]), "bench.weights")
                        cmd, env = [info["artifacts"][impl], weights] + common, ours_env
                    else:
                        cmd = [a.python, PEER, "run", "--runtime", impl.replace("_", "-"), "--model", info["dir"]] + common
                        if impl != "torch":
                            cmd += ["--artifact", info["artifacts"][impl]]
                        env = peer_env
                    row = run(cmd, env)
                    row.update(round=rnd, workload=model, impl=impl)
                    rows.append(row)
                    raw.write(json.dumps(row, sort_keys=True) + "\n")
                    raw.flush()
                    if "decode_tokens_per_s" in row:
                        log(f"  {model:9s} {impl:8s} prefill {row['prefill_ms']:8.1f} ms  decode {row['decode_tokens_per_s']:6.1f} tokens/s"
                            f"  rss {row['max_rss_mb']:6.0f} MB  tokens {row.get('check_tokens')}")
                    else:
                        log(f"  ! {model} {impl}: exit {row['exit']}: {row.get('error')}")
                # The bandwidth after the model's last runtime, so every runtime has a sample on both sides.
                bw = run([prep["stream_read"], str(a.threads), "5"], ours_env)
                bw.update(round=rnd, workload=model, impl="stream_read")
                rows.append(bw)
                raw.write(json.dumps(bw, sort_keys=True) + "\n")
    write(aggregate(rows, prep, a, rounds, prompt, tokens, stamp, time.time() - started))


def write(result):
    with open(os.path.join(HERE, "results", "decode.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    sys.path.insert(0, HERE)
    import report
    report.write_decode(result, os.path.join(ROOT, "README.md"))
    log(f"wrote Benchmarks/results/decode.json and README.md's decode block ({result['seconds']:.0f} s of measurements)")


def adjacent_bandwidth(rows, row):
    """The larger of the bandwidth samples just before and just after `row` in the run (GB/s), or None."""
    i = next(k for k, r in enumerate(rows) if r is row)
    before = next((r for r in reversed(rows[:i]) if r.get("impl") == "stream_read"), None)
    after = next((r for r in rows[i + 1:] if r.get("impl") == "stream_read"), None)
    samples = [r["read_gb_per_s"] for r in (before, after) if r and r.get("exit") == 0 and r.get("read_gb_per_s")]
    return max(samples) if samples else None


def aggregate(rows, prep, a, rounds, prompt, tokens, stamp, seconds):
    ok = [r for r in rows if r.get("exit") == 0]
    workloads = {}
    # The machine's read bandwidth is the best sample of the run (samples under load from other work are
    # lower, never higher); every fraction is taken of it.
    samples = stats([r.get("read_gb_per_s") for r in ok if r["impl"] == "stream_read"])
    for model in a.models:
        bandwidth = samples and {**samples, "median": samples["max"], "best_of_run": True}
        per_token = prep[model]["weight_bytes_per_token"]
        w = {"model": MODELS[model], "prompt": prompt, "new_tokens": tokens, "batch": 1,
             "weight_bytes_per_token": per_token, "read_gb_per_s": bandwidth, "impls": {}}
        for impl in IMPLS:
            rs = [r for r in ok if r["workload"] == model and r["impl"] == impl and "decode_tokens_per_s" in r]
            if not rs:
                continue
            rate = stats([r["decode_tokens_per_s"] for r in rs])
            e = {"decode_tokens_per_s": rate, "prefill_ms": stats([r["prefill_ms"] for r in rs]),
                 "prefill_tokens_per_s": prompt / (stats([r["prefill_ms"] for r in rs])["median"] / 1e3),
                 "total_ms": stats([r["total_ms"] for r in rs]), "load_ms": stats([r.get("load_ms") for r in rs]),
                 "compile_ms": stats([r.get("compile_ms") for r in rs]), "max_rss_mb": stats([r["max_rss_mb"] for r in rs]),
                 "check_tokens": rs[0].get("check_tokens"), "processes": len(rs)}
            for k in ("torch", "transformers", "onnxruntime", "ctranslate2", "llama_cpp_python"):
                if k in rs[0]:
                    e[k] = rs[0][k]
            if bandwidth and impl not in ("aot_bf16", "aot_int8", "ct2_int8"):   # the bytes counted are float32 weights
                e["fraction_of_bandwidth"] = per_token * rate["median"] / (bandwidth["median"] * 1e9)
                adjacent = [per_token * r["decode_tokens_per_s"] / (b * 1e9) for r in rs if (b := adjacent_bandwidth(rows, r))]
                if adjacent:
                    e["fraction_of_adjacent_bandwidth"] = stats(adjacent)
            w["impls"][impl] = e
        if "ours" in w["impls"]:
            w["ours_vs"] = {impl: w["impls"]["ours"]["decode_tokens_per_s"]["median"] / e["decode_tokens_per_s"]["median"]
                            for impl, e in w["impls"].items() if impl != "ours"}
        workloads[model] = w
    errors = [{"workload": r.get("workload"), "impl": r.get("impl"), "error": r.get("error")} for r in rows if r.get("exit") != 0]
    cpu = bench_all.cpu_name()
    return {"date": datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).isoformat(timespec="seconds"),
            "mode": "quick" if a.quick else "full", "rounds": rounds, "threads": a.threads, "seconds": seconds,
            "machine": {"cpu": cpu, "cores": os.cpu_count(), "load1": stats([r.get("load1") for r in rows])},
            "method": __doc__.split("\n\n")[1].replace("\n", " "), "workloads": workloads, "notes": prep["notes"],
            "models_not_run": [m for m in MODELS if m not in a.models],
            "prepare": prep["prepare"], "errors": errors}


if __name__ == "__main__":
    main()
