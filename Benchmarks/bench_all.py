#!/usr/bin/env python3
"""The one benchmark run behind Benchmarks/run-all.sh: ours (eager, JIT, AOT) and the peers (PyTorch eager,
torch.compile, ONNX Runtime, OpenVINO) on the same workloads, same thread count, interleaved process by
process within each round (MiniLM and BERT-base at bf16 and int8 too), plus the machine's sgemm ceiling, the
training step, tokenizer throughput and cold starts. Every measurement is its own process, so each has its own
peak RSS (from wait4) and time to first result. Writes Benchmarks/results/all.json, docs/benchmarks.md and
docs/benchmarks.png.

run-all.sh builds the binaries and calls this; see its header for the options.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work")

ENCODERS = [
    # id, model key, batch, seq, reps (full, quick)
    ("minilm_1x16", "minilm", 1, 16, 100, 10),
    ("minilm_1x128", "minilm", 1, 128, 40, 5),
    ("minilm_8x128", "minilm", 8, 128, 10, 3),
    ("bertbase_1x128", "bertbase", 1, 128, 12, 3),
    ("distilbert_1x128", "distilbert", 1, 128, 12, 3),
    ("distilbert_8x128", "distilbert", 8, 128, 6, 2),
    ("xlmr_1x128", "xlmr", 1, 128, 12, 3),
]
MODELS = {
    "minilm": {"dir": os.path.join(ROOT, ".models", "all-MiniLM-L6-v2"), "heads": 12, "hidden": 384,
               "label": "MiniLM-L6 (all-MiniLM-L6-v2, real weights)"},
    "bertbase": {"dir": os.path.join(WORK, "bert-base-random"), "arch": "bert-base", "heads": 12, "hidden": 768,
                 "label": "BERT-base config (110M, random init)"},
    # DistilBERT and XLM-R take input_ids and attention_mask only (no token types): models_peer.py, ModelBench
    # and the AOT harness feed each model the inputs it declares.
    "distilbert": {"dir": os.path.join(WORK, "distilbert-random"), "arch": "distilbert", "heads": 12, "hidden": 768,
                   "label": "DistilBERT config (distilbert-base-uncased sizes, 66M, random init)"},
    "xlmr": {"dir": os.path.join(WORK, "xlmr-random"), "arch": "xlm-roberta", "heads": 12, "hidden": 768,
             "label": "XLM-R config (xlm-roberta-base sizes, 278M of which a 768 MB embedding table, random init)"},
}
# Workloads besides the encoders, for --only.
OTHER_WORKLOADS = ["gpt2_greedy_64", "training_step", "tokenizer_wordpiece", "tokenizer_bpe", "coldstart_minilm",
                   "coldstart_classify"]
ENCODER_IMPLS = ["ours-eager", "torch", "ours-jit", "torch-compile", "ours-aot", "ort", "openvino"]
# Reduced precision on the MiniLM and BERT-base workloads, each also reporting its output's cosine and max abs
# difference against the same runtime in f32. bf16: ours (tcompile --precision bf16, JIT), OpenVINO with
# INFERENCE_PRECISION_HINT=bf16 (where the CPU lists BF16) and PyTorch eager under bf16 autocast. int8: ours
# (--precision int8, JIT), ONNX Runtime's quantize_dynamic of its optimized model, PyTorch's quantize_dynamic of
# the nn.Linear layers and NNCF's post-training quantization for OpenVINO (models_peer.py has the details).
BF16_IMPLS = ["ours-jit-bf16", "openvino-bf16", "torch-bf16"]
INT8_IMPLS = ["ours-jit-int8", "ort-int8", "torch-int8", "openvino-int8"]
PRECISION = {"ours-jit-bf16": "bf16", "ours-jit-int8": "int8"}   # ours: tcompile's --precision (fp32 otherwise)
PRECISION_WORKLOADS = {"minilm_1x16", "minilm_1x128", "minilm_8x128", "bertbase_1x128"}
# One library for every x86-64 (`tcompile --cpu multi`): its best copy, and the same library capped at the AVX2 and
# baseline copies by TCOMPILE_CPU, beside the native library (ours-aot), all from the same C harness.
CPU_IMPLS = {"ours-aot-multi": None, "ours-aot-multi-v3": "x86-64-v3", "ours-aot-multi-base": "x86-64"}
CPU_WORKLOADS = {"minilm_1x128", "bertbase_1x128"}
QUANTIZED_FILES = ["ort-int8", "openvino-int8"]   # peers whose quantized model prepare() writes once
OURS = ["ours-eager", "ours-jit", "ours-aot"]
PEERS = ["torch", "torch-compile", "ort", "openvino"]
LABEL = {"ours-eager": "ours eager", "ours-jit": "ours compiled (JIT)", "ours-aot": "ours AOT (C harness)",
         "torch": "PyTorch eager", "torch-compile": "torch.compile", "ort": "ONNX Runtime", "openvino": "OpenVINO",
         "ours-compiled-generator": "ours compiled (CompiledGenerator)", "ours-jit-bf16": "ours bf16 (JIT)",
         "openvino-bf16": "OpenVINO bf16", "torch-bf16": "PyTorch bf16 autocast", "ours-jit-int8": "ours int8 (JIT)",
         "ort-int8": "ONNX Runtime int8 dynamic", "torch-int8": "PyTorch int8 dynamic", "openvino-int8": "OpenVINO int8 (NNCF)"}
SENTENCE = "The striker scored a late goal in the final."


def runtime_envs(threads):
    """The environments of our processes (OpenBLAS's core type pinned, its thread count) and of the peers'
    (OpenBLAS's overrides dropped, OpenMP's thread count), for `threads` threads."""
    ours = dict(os.environ, OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE", "COOPERLAKE"), OPENBLAS_NUM_THREADS=str(threads))
    peer = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    peer.update(OMP_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="false")
    return ours, peer


def run_stamp():
    """This run's UTC stamp, which names its raw results file; results/raw exists afterwards."""
    os.makedirs(os.path.join(HERE, "results", "raw"), exist_ok=True)
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def generation_arguments(models, kind):
    """The command line of a generation workload (decode, seq2seq): --bin-dir, --python, --threads,
    --quick, --rounds, --models (checked against `models`, returned as a list) and --from-raw."""
    p = argparse.ArgumentParser()
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int)
    p.add_argument("--models", default=",".join(models))
    p.add_argument("--from-raw", help=f"only aggregate and report a raw {kind}-*.jsonl of an earlier run")
    a = p.parse_args()
    a.models = [m for m in a.models.split(",") if m]
    if unknown := [m for m in a.models if m not in models]:
        p.error(f"--models: unknown {', '.join(unknown)} (known: {', '.join(models)})")
    return a


def log(msg):
    print(msg, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run_json(cmd, env, timeout=3600):
    """One process of a workload that prints JSON lines (bench_decode, bench_seq2seq): its last JSON line,
    wall time, peak RSS (wait4), exit status and last error line."""
    wall, usage, exit_code, stdout, stderr = run_process(cmd, env, timeout, poll=0.05)
    row = {"cmd": " ".join(cmd).replace(ROOT + os.sep, ""), "wall_s": wall, "max_rss_mb": usage.ru_maxrss / 1024,
           "exit": exit_code, "load1": loadavg()}
    lines = [l for l in stdout.splitlines() if l.startswith("{")]
    if row["exit"] == 0 and lines:
        row.update(json.loads(lines[-1]))
    elif row["exit"] != 0:
        row["error"] = ((stderr.strip() or stdout.strip()).splitlines() or ["(no output)"])[-1][-400:]
    return row


def cpu_name():
    """The CPU's model name (/proc/cpuinfo), for the results files."""
    return next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())


def run_process(cmd, env, timeout, poll=0.01):
    """Runs `cmd` from the repository's root; returns its wall time, rusage (peak RSS), exit status, stdout and
    stderr. Killed after `timeout` seconds."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.time()
        process = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.time() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(poll)
        wall = time.time() - start
        out.seek(0)
        err.seek(0)
        return (wall, usage, os.waitstatus_to_exitcode(status), out.read().decode(errors="replace"),
                err.read().decode(errors="replace"))


class Runner:
    def __init__(self, args):
        self.args = args
        self.bin = args.bin_dir
        self.threads = args.threads
        self.raw = open(args.raw, "a")
        # Peers: without the OpenBLAS overrides (models_peer.py also drops them itself and says so).
        self.ours_env, self.peer_env = runtime_envs(self.threads)
        self.ours_env.update(BENCH_THREADS=str(self.threads))
        self.peer_env.update(TORCHINDUCTOR_CACHE_DIR=os.path.join(WORK, "inductor-cache"))
        self.python = args.python

    def run(self, tag, cmd, peer, timeout=900, parse=True, meta=None):
        """Runs one process; returns its last JSON line plus wall time, time to first result and peak RSS."""
        env = self.peer_env if peer else self.ours_env
        start = time.time()
        wall, usage, exit_code, stdout, stderr = run_process(cmd, env, timeout)
        row = {"tag": tag, "cmd": " ".join(shlex.quote(c) for c in cmd), "wall_s": wall,
               "max_rss_mb": usage.ru_maxrss / 1024, "exit": exit_code, "load1": loadavg()}
        if exit_code != 0:
            row["error"] = (stderr.strip().splitlines() or ["(no output)"])[-1][-300:]
            log(f"  ! {tag}: exit {exit_code}: {row['error']}")
        elif parse:
            lines = [l for l in stdout.splitlines() if l.startswith("{")]
            if lines:
                row.update(json.loads(lines[-1]))
            if "first_result_unix" in row:
                row["first_result_s"] = row["first_result_unix"] - start
        else:
            row["stdout"] = stdout.strip()[-300:]
        if meta:   # our names for workload and runtime win over what the process printed
            if "impl" in row and "impl" in meta and row["impl"] != meta["impl"]:
                row["impl_reported"] = row["impl"]
            row.update(meta)
        self.raw.write(json.dumps(row, sort_keys=True) + "\n")
        self.raw.flush()
        return row


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rounds", type=int)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bin-dir")
    p.add_argument("--aot-dir", default=os.path.join(WORK, "aot"))
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--raw")
    p.add_argument("--skip-torch-compile", action="store_true")
    p.add_argument("--gpt2-compiled-built", action="store_true")
    p.add_argument("--from-raw", help="only aggregate and report a raw .jsonl file of an earlier run")
    p.add_argument("--only", help="comma-separated workloads to run (default all): " +
                   ", ".join([e[0] for e in ENCODERS] + OTHER_WORKLOADS))
    a = p.parse_args()
    known = [e[0] for e in ENCODERS] + OTHER_WORKLOADS
    a.only = [w.strip() for w in a.only.split(",") if w.strip()] if a.only else known
    unknown = [w for w in a.only if w not in known]
    if unknown:
        p.error(f"--only: unknown workload(s) {', '.join(unknown)}; known: {', '.join(known)}")
    rounds = a.rounds or (1 if a.quick else 3)
    stamp = run_stamp()
    a.raw = a.raw or os.path.join(HERE, "results", "raw", f"all-{stamp}.jsonl")
    if a.from_raw:
        rows = [json.loads(l) for l in open(a.from_raw)]
        rounds = max(r.get("round", 1) for r in rows)
        encoders_run = {r.get("workload") for r in rows} & {e[0] for e in ENCODERS}
        loads = [r["load1"] for r in rows if r.get("tag") == "ceiling"][::max(1, len(encoders_run))]
        prep = json.load(open(os.path.join(WORK, "prepare.json")))
        a.quick = any(r.get("tag") == "ceiling" and "--reps" in r["cmd"] and r["cmd"].endswith("--reps 3") for r in rows)
        finish(rows, a, rounds, prep, loads, sum(r.get("wall_s", 0) for r in rows))
        return
    r = Runner(a)
    q = a.quick
    started = time.time()
    peer_script = os.path.join(HERE, "peers", "models_peer.py")
    mb = os.path.join(a.bin_dir, "ModelBench")
    # The single-precision FMA peak (Benchmarks/aot/fma_peak.c: register-only FMAs at the widest vectors this CPU
    # has), the reference for the compiled GEMMs' fraction; built here for this CPU.
    fma_peak = os.path.join(a.aot_dir, "fma_peak")
    os.makedirs(a.aot_dir, exist_ok=True)   # a fresh checkout has no Benchmarks/.work yet
    if subprocess.run(["cc", "-O2", "-march=native", "-ffp-contract=fast", os.path.join(HERE, "aot", "fma_peak.c"), "-lpthread",
                       "-o", fma_peak]).returncode != 0:
        fma_peak = None
    prep = prepare(a, r)
    loads = []

    impls = [i for i in ENCODER_IMPLS if not (a.skip_torch_compile and i == "torch-compile")]
    encoders = [e for e in ENCODERS if e[0] in a.only]
    only = set(a.only)
    gen_bin = os.path.join(a.bin_dir, "GPT2CompiledBench")
    have_gen = os.path.exists(gen_bin) and prep.get("gpt2_compiled_built")
    classify_app = os.path.join(a.aot_dir, "classify-app")
    log(f"ours run with OPENBLAS_CORETYPE={r.ours_env['OPENBLAS_CORETYPE']} OPENBLAS_NUM_THREADS={a.threads}; the peer "
        f"processes run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (models_peer.py also drops them itself), "
        f"OMP_NUM_THREADS={a.threads}")
    for rnd in range(1, rounds + 1):
        loads.append(loadavg())
        log(f"round {rnd}/{rounds} (load {loads[-1]:.2f}, {time.time() - started:.0f} s so far)")
        for wid, key, batch, seq, reps_full, reps_quick in encoders:
            # The ceiling is sampled before every encoder workload, so that it sees the same machine state.
            r.run("ceiling", [mb, "ceiling", "--threads", str(a.threads), "--reps", "3" if q else "5"], peer=False,
                  meta={"round": rnd})
            if fma_peak:
                r.run("fma_peak", [fma_peak, str(a.threads), "3"], peer=False, meta={"round": rnd})
            reps = str(reps_quick if q else reps_full)
            model = MODELS[key]
            here = impls + (BF16_IMPLS + INT8_IMPLS if wid in PRECISION_WORKLOADS else []) \
                + (list(CPU_IMPLS) if wid in CPU_WORKLOADS and "ours-aot" in impls else [])
            order = here if rnd % 2 else here[1::2] + here[0::2]   # alternate who goes first
            for impl in order:
                meta = {"round": rnd, "workload": wid, "impl": impl}
                if impl in ("ours-eager", "ours-jit", *PRECISION):
                    cmd = [mb, "encoder", "--model", model["dir"], "--mode", "eager" if impl == "ours-eager" else "jit",
                           "--batch", str(batch), "--seq", str(seq), "--reps", reps, "--threads", str(a.threads),
                           "--precision", PRECISION.get(impl, "fp32")]
                    row = r.run(wid, cmd, peer=False, meta=meta)
                elif impl == "ours-aot":
                    cmd = [os.path.join(a.aot_dir, f"{key}-harness"), os.path.join(a.aot_dir, key, f"{key}.weights"),
                           str(batch), str(seq), reps]
                    row = r.run(wid, cmd, peer=False, meta=meta)
                elif impl in CPU_IMPLS:
                    cap = ["TCOMPILE_CPU=" + CPU_IMPLS[impl]] if CPU_IMPLS[impl] else ["-u", "TCOMPILE_CPU"]
                    cmd = ["env"] + cap + [os.path.join(a.aot_dir, f"{key}-multi-harness"),
                                           os.path.join(a.aot_dir, f"{key}-multi", f"{key}.weights"), str(batch), str(seq), reps]
                    row = r.run(wid, cmd, peer=False, meta=meta)
                else:
                    cmd = [a.python, peer_script, "encoder", "--runtime", impl, "--model", model["dir"],
                           "--onnx-dir", os.path.join(WORK, "onnx"), "--name", key, "--batch", str(batch),
                           "--seq", str(seq), "--reps", reps, "--threads", str(a.threads)]
                    row = r.run(wid, cmd, peer=True, meta=meta)
                if "median_ms" in row:
                    log(f"  {wid:15s} {impl:14s} {row['median_ms']:9.2f} ms  rss {row['max_rss_mb']:6.0f} MB  "
                        f"first result {row.get('first_result_s', float('nan')):6.2f} s")
        # GPT-2 greedy decoding
        gpt2_dir = os.path.join(WORK, "gpt2-random")
        greps = "1" if q else "3"
        for impl in (["ours-eager", "torch", "ort"] + (["ours-compiled-generator"] if have_gen else [])
                     if "gpt2_greedy_64" in only else []):
            meta = {"round": rnd, "workload": "gpt2_greedy_64", "impl": impl}
            if impl == "ours-eager":
                cmd = [mb, "gpt2", "--model", gpt2_dir, "--tokens", "64", "--prompt", "8", "--reps", greps,
                       "--threads", str(a.threads)]
            elif impl in ("torch", "ort"):
                cmd = [a.python, peer_script, "gpt2", "--runtime", impl, "--model", gpt2_dir, "--onnx-dir",
                       os.path.join(WORK, "onnx"), "--tokens", "64", "--prompt", "8", "--reps", greps, "--threads", str(a.threads)]
            else:
                cmd = [gen_bin, "--model", gpt2_dir, "--tokens", "64", "--prompt", "8", "--reps", greps,
                       "--threads", str(a.threads)]
            row = r.run("gpt2_greedy_64", cmd, peer=impl in ("torch", "ort"), meta=meta)
            if "median_ms" in row:
                log(f"  gpt2_greedy_64  {impl:14s} {row['median_ms']:9.1f} ms  ({row['tokens_per_s']:.1f} tokens/s)")
        # Training step (tiny BERT MLM) and tokenizers
        steps = "3" if q else "10"
        if "training_step" in only:
            row = r.run("training", [os.path.join(a.bin_dir, "TrainingStep"), steps], peer=False,
                        meta={"round": rnd, "workload": "training_step", "impl": "ours-eager"})
            row2 = r.run("training", [a.python, os.path.join(HERE, "peers", "training_peer.py"), steps, str(a.threads)],
                         peer=True, meta={"round": rnd, "workload": "training_step", "impl": "torch"})
            if "ms_per_step" in row and "ms_per_step" in row2:
                log(f"  training step   ours {row['ms_per_step']:.1f} ms, PyTorch {row2['ms_per_step']:.1f} ms")
        for kind in [k for k in ["wordpiece", "bpe"] if f"tokenizer_{k}" in only]:
            passes = "1" if q else "3"
            env_note = {"round": rnd, "workload": f"tokenizer_{kind}"}
            o = r.run("tokenizer", [os.path.join(a.bin_dir, "TokenizerThroughput"), kind, ROOT, passes], peer=False,
                      meta={**env_note, "impl": "ours"})
            t = r.run("tokenizer", [a.python, os.path.join(HERE, "peers", "tokenizers_peer.py"), kind, ROOT, passes],
                      peer=True, meta={**env_note, "impl": "hf-tokenizers"})
            if "mb_per_s" in o and "mb_per_s" in t:
                log(f"  tokenizer {kind:9s} ours {o['mb_per_s']:.1f} MB/s, HF {t['mb_per_s']:.1f} MB/s")
        # Cold starts: process start to exit, for a one-sentence app
        cold = [
            ("coldstart_minilm", "ours-aot", [os.path.join(a.aot_dir, "minilm-harness"),
                                              os.path.join(a.aot_dir, "minilm", "minilm.weights"), "--ids",
                                              *prep.get("minilm_sentence_ids", "").split()], False),
            ("coldstart_minilm", "torch", [a.python, peer_script, "coldstart", "--model", MODELS["minilm"]["dir"],
                                           "--text", SENTENCE, "--threads", str(a.threads)], True),
            ("coldstart_classify", "ours-aot", [classify_app, os.path.join(a.aot_dir, "classify", "classify.weights"),
                                                *prep.get("classify_sentence_ids", "").split()], False),
            ("coldstart_classify", "torch", [a.python, peer_script, "coldstart", "--classifier", "--model",
                                             os.path.join(ROOT, "samples", "classify", "model"), "--text", SENTENCE,
                                             "--threads", str(a.threads)], True),
        ]
        for wid, impl, cmd, peer in (c for c in cold if c[0] in only):
            row = r.run(wid, cmd, peer=peer, parse=False, meta={"round": rnd, "workload": wid, "impl": impl})
            log(f"  {wid:18s} {impl:9s} {row['wall_s']:6.2f} s  rss {row['max_rss_mb']:5.0f} MB  {row.get('stdout', '')[:70]}")
    loads.append(loadavg())
    r.raw.close()
    rows = [json.loads(l) for l in open(a.raw)]
    finish(rows, a, rounds, prep, loads, time.time() - started)


def finish(rows, a, rounds, prep, loads, seconds):
    started = time.time() - seconds
    result = aggregate(rows, a, rounds, prep, loads, seconds)
    with open(os.path.join(HERE, "results", "all.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    import report
    report.write(result, os.path.join(ROOT, "docs", "benchmarks.md"), os.path.join(ROOT, "docs", "benchmarks.png"))
    log(f"wrote Benchmarks/results/all.json, docs/benchmarks.md, docs/benchmarks.png in {time.time() - started:.0f} s")


HARNESS_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]   # the harness's input kinds 0, 1, 2


def harness_input_kinds(header):
    """The input names of a generated header, in its order (from its `inputs[i] = NAME: …` comments), checked
    against NAME_NUM_INPUTS and against the inputs the harness can make."""
    import re
    text = open(header).read()
    names = re.findall(r"inputs\[\d+\] = (\w+):", text)
    count = re.search(r"#define \w+_NUM_INPUTS (\d+)", text)
    if not count or int(count.group(1)) != len(names) or not set(names) <= set(HARNESS_INPUTS):
        sys.exit(f"prepare: {header}: inputs {names} (NUM_INPUTS {count and count.group(1)}): the harness makes only {HARNESS_INPUTS}")
    return names


def prepare(a, r):
    """Everything built once per run and not timed as a workload: random checkpoints, ONNX exports (plus the
    ORT transformer optimizer), the int8 peers' quantized models, the AOT libraries with their harnesses, the
    classifier app, sentence ids.
    Records how long each step took (the compile times of AOT, ORT and OpenVINO include them). Only what the
    workloads of --only need is prepared."""
    os.makedirs(WORK, exist_ok=True)
    tcompile = os.path.join(a.bin_dir, "tcompile")
    peer_script = os.path.join(HERE, "peers", "models_peer.py")
    prep = {"gpt2_compiled_built": a.gpt2_compiled_built}
    only = set(a.only)
    wanted = {key for wid, key, *_ in ENCODERS if wid in only} | ({"minilm"} if "coldstart_minilm" in only else set())
    gpt2 = "gpt2_greedy_64" in only

    def step(name, cmd, peer=False):
        row = r.run(name, cmd, peer=peer, meta={"workload": "prepare", "impl": name})
        if row.get("exit") != 0:
            sys.exit(f"prepare: {name} failed: {row.get('error')}\n  {row['cmd']}")
        return row

    random = [(MODELS[k]["arch"], MODELS[k]["dir"]) for k in MODELS if k in wanted and "arch" in MODELS[k]]
    for arch, directory in random + ([("gpt2", os.path.join(WORK, "gpt2-random"))] if gpt2 else []):
        if not os.path.exists(os.path.join(directory, "model.safetensors")):
            log(f"prepare: random {arch} checkpoint")
            step(f"checkpoint {arch}", [a.python, peer_script, "random-checkpoint", "--arch", arch, "--out", directory], peer=True)
    onnx_dir = os.path.join(WORK, "onnx")
    gpt2_cache = os.path.join(onnx_dir, "gpt2.json")
    if gpt2 and not (os.path.exists(gpt2_cache) and os.path.exists(os.path.join(onnx_dir, "gpt2-decode.opt.onnx"))):
        log("prepare: ONNX export (prefill + decode with past) and ORT transformer optimizer for GPT-2")
        row = step("onnx gpt2", [a.python, peer_script, "prepare-gpt2", "--model", os.path.join(WORK, "gpt2-random"),
                                 "--out", onnx_dir, "--threads", str(a.threads)], peer=True)
        json.dump({k: row[k] for k in ("export_and_optimize_ms", "fused_operators")}, open(gpt2_cache, "w"))
    if gpt2:
        prep["gpt2_ort_prepare"] = json.load(open(gpt2_cache))
    for key, model in ((k, m) for k, m in MODELS.items() if k in wanted):
        cache = os.path.join(onnx_dir, key + ".json")
        if not (os.path.exists(cache) and os.path.exists(os.path.join(onnx_dir, key + ".opt.onnx"))):
            log(f"prepare: ONNX export and ORT transformer optimizer for {key}")
            row = step(f"onnx {key}", [a.python, peer_script, "prepare", "--model", model["dir"], "--out", onnx_dir, "--name", key,
                                       "--num-heads", str(model["heads"]), "--hidden", str(model["hidden"]),
                                       "--threads", str(a.threads)], peer=True)
            json.dump({**{k: row[k] for k in ("export_ms", "ort_optimizer_ms", "fused_operators", "inputs")},
                      "peak_rss_mb": row["max_rss_mb"]}, open(cache, "w"))
        cached = json.load(open(cache))
        prep[f"{key}_export_ms"] = cached["export_ms"]
        prep[f"{key}_ort_optimizer_ms"] = cached["ort_optimizer_ms"]
        prep[f"{key}_ort_fused_operators"] = cached["fused_operators"]
        prep[f"{key}_inputs"] = cached.get("inputs")
        prep[f"{key}_onnx_prepare_peak_rss_mb"] = cached.get("peak_rss_mb")   # torch export + ORT optimizer
        # AOT: tcompile export (trace) + tcompile compile (-O2, LLVM, libNAME.a), then the C harness.
        out = os.path.join(a.aot_dir, key)
        os.makedirs(out, exist_ok=True)
        log(f"prepare: tcompile export + compile {key} (batch <= 8, seq <= 128)")
        e = step(f"tcompile export {key}", [tcompile, "export", model["dir"], "--task", "feature-extraction", "--name", key,
                                            "--max-batch", "8", "--max-seq", "128", "-o", os.path.join(out, "model.json")])
        c = r.run(f"tcompile compile {key}", [tcompile, os.path.join(out, "model.json"), "-o", out], peer=False, parse=False,
                  meta={"workload": "prepare", "impl": "tcompile"})
        if c.get("exit") != 0:
            sys.exit(f"prepare: tcompile compile {key} failed: {c.get('error')}")
        prep[f"{key}_aot_compile_ms"] = (e["wall_s"] + c["wall_s"]) * 1e3
        # Paths relative to the repository, so the committed results name no machine's folders.
        prep[f"{key}_tcompile_summary"] = c.get("stdout", "").replace(ROOT + os.sep, "")
        prep[f"{key}_aot_peak_rss_mb"] = max(e["max_rss_mb"], c["max_rss_mb"])
        kinds = harness_input_kinds(os.path.join(out, f"{key}.h"))
        prep[f"{key}_aot_inputs"] = kinds
        subprocess.run(["cc", "-O2", "-std=c11", f"-DM={key}", f"-DMU={key.upper()}", f'-DMODEL_HEADER="{key}.h"',
                        "-DINPUT_KINDS={" + ", ".join(str(HARNESS_INPUTS.index(n)) for n in kinds) + "}",
                        os.path.join(HERE, "aot", "harness.c"), "-I", out, "-L", out, f"-l{key}", "-lopenblas", "-lm", "-lpthread",
                        "-o", os.path.join(a.aot_dir, f"{key}-harness")], check=True)
        if any(wid in CPU_WORKLOADS and k == key for wid, k, *_ in ENCODERS if wid in only):
            multi = os.path.join(a.aot_dir, f"{key}-multi")
            c = r.run(f"tcompile compile {key} --cpu multi", [tcompile, os.path.join(out, "model.json"), "-o", multi, "--cpu", "multi"],
                      peer=False, parse=False, meta={"workload": "prepare", "impl": "tcompile"})
            if c.get("exit") != 0:
                sys.exit(f"prepare: tcompile compile {key} --cpu multi failed: {c.get('error')}")
            prep[f"{key}_aot_multi_compile_ms"] = c["wall_s"] * 1e3
            subprocess.run(["cc", "-O2", "-std=c11", f"-DM={key}", f"-DMU={key.upper()}", f'-DMODEL_HEADER="{key}.h"',
                            "-DINPUT_KINDS={" + ", ".join(str(HARNESS_INPUTS.index(n)) for n in kinds) + "}",
                            os.path.join(HERE, "aot", "harness.c"), "-I", multi, "-L", multi, f"-l{key}", "-lopenblas", "-lm", "-lpthread",
                            "-o", os.path.join(a.aot_dir, f"{key}-multi-harness")], check=True)
    # int8: ONNX Runtime's quantized model (one per model) and OpenVINO's (calibrated per workload shape), made once
    # here beside the ONNX files rather than inside a timed process. A failure is logged, not fatal: the peer then
    # tries again in its own process and that workload's cell reports the failure.
    for wid, key, batch, seq, *_ in (e for e in ENCODERS if e[0] in only and e[0] in PRECISION_WORKLOADS):
        for impl in QUANTIZED_FILES:
            row = r.run(f"quantize {impl} {wid}", [a.python, peer_script, "quantize", "--runtime", impl, "--onnx-dir", onnx_dir,
                                                   "--name", key, "--batch", str(batch), "--seq", str(seq)],
                        peer=True, meta={"workload": "prepare", "impl": impl})
            if row.get("exit") == 0:
                prep.setdefault("quantized", {}).setdefault(wid, {})[impl] = {
                    k: row[k] for k in ("model", "precision", "operators", "calibration", "fake_quantize", "quantize_ms",
                                        "quantized_now", "nncf") if k in row}
                if row.get("quantized_now"):
                    log(f"prepare: {impl} quantized {key} for {wid} in {row['quantize_ms'] / 1000:.1f} s")
    # The link-c sample's classifier app, for its cold start.
    if "coldstart_classify" in only:
        out = os.path.join(a.aot_dir, "classify")
        os.makedirs(out, exist_ok=True)
        step("tcompile export classify", [tcompile, "export", os.path.join(ROOT, "samples", "classify", "model"), "--task",
                                          "text-classification", "--name", "classify", "--max-batch", "1", "--max-seq", "64",
                                          "-o", os.path.join(out, "model.json")])
        r.run("tcompile compile classify", [tcompile, os.path.join(out, "model.json"), "-o", out], peer=False, parse=False)
        subprocess.run(["cc", "-O2", "-std=c11", os.path.join(ROOT, "samples", "link-c", "main.c"), "-I", out, "-L", out,
                        "-lclassify", "-lopenblas", "-lm", "-lpthread", "-o", os.path.join(a.aot_dir, "classify-app")], check=True)
    apps = (("minilm", MODELS["minilm"]["dir"]), ("classify", os.path.join(ROOT, "samples", "classify", "model")))
    for key, directory in (app for app in apps if f"coldstart_{app[0]}" in only):
        ids = subprocess.run([tcompile, "tokenize", "--tokenizer", directory, "--text", SENTENCE], capture_output=True,
                             text=True, check=True, env=r.ours_env).stdout.strip()
        # The app gets the real tokens only, as transformers' tokenizer gives them to PyTorch (all-MiniLM-L6-v2's
        # tokenizer.json asks for padding to 128 with [PAD] = 0; `tcompile tokenize` now leaves it out itself).
        tokens = ids.split()
        while len(tokens) > 1 and tokens[-1] == "0":
            tokens.pop()
        prep[f"{key}_sentence_ids"] = " ".join(tokens)
    def first_line(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except Exception as error:  # noqa: BLE001
            return f"unknown ({error})"
    prep["versions"] = {"swift": first_line(["swift", "--version"]), "cc": first_line(["cc", "--version"]),
                        "openblas": first_line(["dpkg-query", "-W", "-f", "${Version}", "libopenblas0-pthread"]),
                        "llvm": first_line(["/usr/lib/llvm-19/bin/llvm-config", "--version"]),
                        "python": platform.python_version(),
                        "openblas_coretype_ours": r.ours_env["OPENBLAS_CORETYPE"]}
    json.dump(prep, open(os.path.join(WORK, "prepare.json"), "w"), indent=1)
    return prep


def run_date(a):
    """When the run began: from the raw file's name (all-YYYYmmddTHHMMSSZ.jsonl)."""
    stamp = os.path.basename(a.from_raw or a.raw).split("-", 1)[1].split(".")[0]
    return datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).isoformat(timespec="seconds")


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def gpt2_flops(prompt=8, tokens=64, layers=12, d=768, vocab=50257):
    """Analytic matmul FLOPs of greedy decoding with a KV cache: prefill of the prompt, then one token at a
    time; per position 24·d² per layer (QKV, projection, MLP) plus 4·ctx·d of attention, and the LM head
    (2·d·V) for every position that yields a token."""
    total = 0
    for pos in range(prompt + tokens - 1):
        ctx = pos + 1
        total += layers * (24 * d * d + 4 * ctx * d)
        if pos >= prompt - 1:
            total += 2 * d * vocab
    return total


def aggregate(rows, a, rounds, prep, loads, seconds):
    rename = {("training_step", "ours"): "ours-eager", ("training_step", "pytorch"): "torch", ("tokenizer_wordpiece", "tcompile"): "ours",
              ("tokenizer_bpe", "tcompile"): "ours"}
    for r in rows:
        r["impl"] = rename.get((r.get("workload"), r.get("impl")), r.get("impl"))
    ok = [r for r in rows if r.get("exit") == 0]
    ceiling_rows = [r["ceiling"] for r in ok if r.get("tag") == "ceiling"]
    ceiling = {name: stats([c[name]["gflops"] for c in ceiling_rows]) for name in (ceiling_rows[0] if ceiling_rows else {})}
    # The machine's ceiling is the best 2048³ rate observed: load from other work only ever lowers a sample.
    peak = ceiling.get("sgemm_2048x2048x2048", {}).get("max") if ceiling else None
    # The FMA peak is the best sample too; the GEMMs (ours compiled, OpenBLAS's sgemm) at each shape as a fraction of it.
    fma = stats([r["fma_peak_gflops"] for r in ok if r.get("tag") == "fma_peak" and "fma_peak_gflops" in r])
    ours_gemm_rows = [r["tcompile_gemm"] for r in ok if r.get("tag") == "ceiling" and "tcompile_gemm" in r]
    ours_gemm = {name: stats([g[name]["gflops"] for g in ours_gemm_rows]) for name in (ours_gemm_rows[0] if ours_gemm_rows else {})}
    gemm_vs_fma = {name: {"ours_gflops": ours_gemm[name], "sgemm_gflops": ceiling.get(name),
                          "ours_fraction": ours_gemm[name]["median"] / fma["max"],
                          "sgemm_fraction": ceiling[name]["median"] / fma["max"] if name in ceiling else None}
                   for name in ours_gemm} if fma and ours_gemm else {}
    versions = {}
    for r in ok:
        for k in ("torch", "transformers", "onnxruntime", "openvino"):
            if k in r:
                versions[k] = r[k]
    workloads = {}

    def put(wid, impl, rs, time_key="median_ms"):
        if not rs:
            return
        entry = {"ms": stats([r.get(time_key) for r in rs]), "min_ms": min(r.get("min_ms", r.get(time_key)) for r in rs),
                 "max_ms": max(r.get("max_ms", r.get(time_key)) for r in rs),
                 "max_rss_mb": stats([r["max_rss_mb"] for r in rs]),
                 "first_result_s": stats([r.get("first_result_s") for r in rs]),
                 "compile_ms": stats([r.get("compile_ms") for r in rs]),
                 "check": stats([r.get("check_mean_abs") for r in rs]),
                 "reps_per_process": rs[0].get("reps"), "processes": len(rs)}
        for k in ("tokens_per_s", "check_tokens", "inference_precision", "precision", "ops_before", "ops_after", "trace_ms"):
            if k in rs[0]:
                entry[k] = stats([r[k] for r in rs]) if k in ("tokens_per_s", "trace_ms") else rs[0][k]
        # Reduced precision (bf16 and int8): the worst agreement with f32 over the processes.
        if any("cosine_vs_fp32" in r for r in rs):
            entry["cosine_vs_fp32"] = min(r["cosine_vs_fp32"] for r in rs if "cosine_vs_fp32" in r)
            entry["max_abs_vs_fp32"] = max(r["max_abs_vs_fp32"] for r in rs if "max_abs_vs_fp32" in r)
        workloads.setdefault(wid, {"impls": {}})["impls"][impl] = entry

    ran = {r.get("workload") for r in rows}   # --only runs a subset: report only what ran
    for wid, key, batch, seq, *_ in ENCODERS:
        if wid not in ran:
            continue
        w = workloads.setdefault(wid, {"impls": {}})
        w.update(model=MODELS[key]["label"], model_key=key, batch=batch, seq=seq)
        for impl in ENCODER_IMPLS + BF16_IMPLS + INT8_IMPLS + list(CPU_IMPLS):
            put(wid, impl, [r for r in ok if r.get("workload") == wid and r.get("impl") == impl and "median_ms" in r])
        flops = [r["matmul_flops"] for r in ok if r.get("workload") == wid and "matmul_flops" in r]
        w["matmul_flops"] = flops[0] if flops else None
        w["flops_source"] = "counted from the traced graph (2·M·N·K per matmul)"
        # compile time of the AOT library: tcompile export + tcompile compile, once in prepare
        if "ours-aot" in w["impls"] and f"{key}_aot_compile_ms" in prep:
            w["impls"]["ours-aot"]["compile_ms"] = stats([prep[f"{key}_aot_compile_ms"]])
        if "ours-aot-multi" in w["impls"] and f"{key}_aot_multi_compile_ms" in prep:
            w["impls"]["ours-aot-multi"]["compile_ms"] = stats([prep[f"{key}_aot_multi_compile_ms"]])
        for peer in ("ort", "openvino"):
            if peer in w["impls"] and f"{key}_export_ms" in prep:
                w["impls"][peer]["export_ms"] = prep[f"{key}_export_ms"]
                if peer == "ort":
                    w["impls"][peer]["ort_optimizer_ms"] = prep.get(f"{key}_ort_optimizer_ms")
    g = workloads.setdefault("gpt2_greedy_64", {"impls": {}}) if "gpt2_greedy_64" in ran else {}
    g.update(model="GPT-2 small config (124M, random init), greedy 64 tokens, prompt 8, KV cache", batch=1, seq=72,
             matmul_flops=gpt2_flops(), flops_source="analytic (see gpt2_flops in bench_all.py)")
    for impl in ["ours-eager", "torch", "ort", "ours-compiled-generator"]:
        put("gpt2_greedy_64", impl, [r for r in ok if r.get("workload") == "gpt2_greedy_64" and r.get("impl") == impl and "median_ms" in r])
    t = workloads.setdefault("training_step", {"impls": {}}) if "training_step" in ran else {}
    t.update(model="tiny BERT MLM training step (2 layers, hidden 128, vocab 30522, batch 8×64, AdamW)", matmul_flops=None)
    for impl in ["ours-eager", "torch"]:
        put("training_step", impl, [r for r in ok if r.get("workload") == "training_step" and r.get("impl") == impl and "ms_per_step" in r], "ms_per_step")
    for kind in ["wordpiece", "bpe"]:
        wid = f"tokenizer_{kind}"
        if wid not in ran:
            continue
        tw = workloads.setdefault(wid, {"impls": {}})
        tw.update(model=f"{'WordPiece (all-MiniLM-L6-v2)' if kind == 'wordpiece' else 'byte-level BPE (GPT-2)'} tokenizer, one thread, MB/s")
        for impl in ["ours", "hf-tokenizers"]:
            rs = [r for r in ok if r.get("workload") == wid and r.get("impl") == impl and "mb_per_s" in r]
            if rs:
                tw["impls"][impl] = {"mb_per_s": stats([r["mb_per_s"] for r in rs]), "max_rss_mb": stats([r["max_rss_mb"] for r in rs]),
                                     "version": rs[0].get("version")}
    cold = {}
    for wid in ("coldstart_minilm", "coldstart_classify"):
        for impl in ("ours-aot", "torch"):
            rs = [r for r in ok if r.get("workload") == wid and r.get("impl") == impl]
            if rs:
                cold.setdefault(wid, {})[impl] = {"wall_s": stats([r["wall_s"] for r in rs]),
                                                   "max_rss_mb": stats([r["max_rss_mb"] for r in rs]),
                                                   "output": rs[-1].get("stdout")}
    # ratios and ceiling fractions
    for wid, w in workloads.items():
        impls = w["impls"]
        for impl, e in impls.items():
            if peak and w.get("matmul_flops") and e.get("ms"):
                e["gflops"] = w["matmul_flops"] / (e["ms"]["median"] / 1e3) / 1e9
                e["fraction_of_ceiling"] = e["gflops"] / peak
        w["ratios"] = {}
        for o in OURS:
            for pr in PEERS:
                if o in impls and pr in impls and impls[o].get("ms") and impls[pr].get("ms"):
                    w["ratios"][f"{o}/{pr}"] = impls[o]["ms"]["median"] / impls[pr]["ms"]["median"]
        for o, pr in (("ours-jit-bf16", "ours-jit"), ("ours-jit-bf16", "openvino-bf16"), ("ours-jit-bf16", "torch-bf16"),
                      ("ours-jit-bf16", "ort"), ("ours-jit-bf16", "openvino"),
                      ("ours-jit-int8", "ours-jit"), ("ours-jit-int8", "ort-int8"), ("ours-jit-int8", "torch-int8"),
                      ("ours-jit-int8", "openvino-int8"), ("ours-jit-int8", "ort"), ("ours-jit-int8", "openvino")):
            if o in impls and pr in impls and impls[o].get("ms") and impls[pr].get("ms"):
                w["ratios"][f"{o}/{pr}"] = impls[o]["ms"]["median"] / impls[pr]["ms"]["median"]
        for pr in ("torch", "ort"):
            if "ours-compiled-generator" in impls and pr in impls:
                w["ratios"][f"ours-jit/{pr}"] = impls["ours-compiled-generator"]["ms"]["median"] / impls[pr]["ms"]["median"]
        if "ours" in impls and "hf-tokenizers" in impls:
            w["ratios"]["ours/hf-tokenizers (throughput)"] = impls["ours"]["mb_per_s"]["median"] / impls["hf-tokenizers"]["mb_per_s"]["median"]
    errors = [{"tag": r["tag"], "workload": r.get("workload"), "impl": r.get("impl"), "error": r["error"]} for r in rows if "error" in r]
    cpu = cpu_name()
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    return {
        "date": run_date(a),
        "mode": "quick" if a.quick else "full", "rounds": rounds, "threads": a.threads, "seconds": seconds,
        "machine": {"cpu": cpu, "cores": os.cpu_count(),
                    "features": [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni", "amx_int8") if f in flags],
                    "kernel": platform.release(), "load1_per_round": loads,
                    "load1_after_each_process": stats([r["load1"] for r in rows if "load1" in r])},
        "versions": {**versions, **prep.get("versions", {})},
        "ceiling_gflops": ceiling, "ceiling_reference": "sgemm_2048x2048x2048", "ceiling_peak_gflops": peak,
        "fma_peak_gflops": fma, "gemm_vs_fma_peak": gemm_vs_fma,
        "workloads": workloads, "coldstart": cold, "prepare": prep, "errors": errors,
    }


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
