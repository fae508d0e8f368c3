"""Writes docs/benchmarks.md, docs/benchmarks.png and the README's benchmark block from results/all.json.

Run alone to regenerate the documents from a results file:  python Benchmarks/report.py [results/all.json]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMPLS = ["ours-eager", "ours-jit", "ours-aot", "torch", "torch-compile", "ort", "openvino"]
HEAD = {"ours-eager": "ours eager", "ours-jit": "ours JIT", "ours-aot": "ours AOT", "torch": "PyTorch eager",
        "torch-compile": "torch.compile", "ort": "ONNX Runtime", "openvino": "OpenVINO"}
ENCODERS = ["minilm_1x16", "minilm_1x128", "minilm_8x128", "bertbase_1x128", "distilbert_1x128", "distilbert_8x128",
            "xlmr_1x128"]
ORDER = ENCODERS + ["gpt2_greedy_64", "training_step"]
SHORT = {"minilm_1x16": "MiniLM-L6 1×16", "minilm_1x128": "MiniLM-L6 1×128", "minilm_8x128": "MiniLM-L6 8×128",
         "bertbase_1x128": "BERT-base 1×128", "distilbert_1x128": "DistilBERT 1×128",
         "distilbert_8x128": "DistilBERT 8×128", "xlmr_1x128": "XLM-R base 1×128",
         "gpt2_greedy_64": "GPT-2 greedy 64 tok", "training_step": "tiny-BERT train step"}
MODEL_NAME = {"minilm": "MiniLM-L6", "bertbase": "BERT-base", "distilbert": "DistilBERT", "xlmr": "XLM-R base"}
LONG = dict(SHORT, gpt2_greedy_64="GPT-2 small, greedy 64 tokens (per generation)",
            training_step="tiny-BERT MLM training step (per step)")
NOT_RUN = {
    ("gpt2_greedy_64", "ours-jit"): "n/a¹", ("gpt2_greedy_64", "ours-aot"): "n/a¹",
    ("gpt2_greedy_64", "torch-compile"): "not run²",
    ("gpt2_greedy_64", "openvino"): "not run²",
    ("training_step", "ours-jit"): "—³", ("training_step", "ours-aot"): "—³", ("training_step", "torch-compile"): "not run³",
    ("training_step", "ort"): "—³", ("training_step", "openvino"): "—³",
}


BF16_COLUMNS = [("ours-jit", "ours fp32 (JIT)"), ("ours-jit-bf16", "ours bf16 (JIT)"), ("openvino", "OpenVINO f32"),
                ("openvino-bf16", "OpenVINO bf16"), ("torch", "PyTorch eager f32"), ("torch-bf16", "PyTorch bf16 autocast")]
INT8_COLUMNS = [("ours-jit", "ours fp32 (JIT)"), ("ours-jit-int8", "ours int8 (JIT)"), ("ort", "ONNX Runtime f32"),
                ("ort-int8", "ONNX Runtime int8 dynamic"), ("torch", "PyTorch eager f32"), ("torch-int8", "PyTorch int8 dynamic"),
                ("openvino", "OpenVINO f32"), ("openvino-int8", "OpenVINO int8 (NNCF)")]


def bf16_text(result):
    """The bf16 section's heading and method."""
    return ("\n## bf16: ours against OpenVINO bf16 and PyTorch bf16 autocast\n\n"
            "Ours compiled with `--precision bf16` (bf16 weights and GEMM inputs, `vdpbf16ps` with f32 accumulation; softmax, "
            "layer norm, attention and residuals in f32), OpenVINO with `INFERENCE_PRECISION_HINT=bf16`, PyTorch eager under "
            "`torch.autocast(\"cpu\", dtype=torch.bfloat16)`; ms median (min–max) in the same interleaved run, and the cosine "
            "of `last_hidden_state` against the same runtime in f32 on the benchmark's ids.\n\n")


def int8_text(result):
    """The int8 section's heading and method: how each runtime quantizes (with the operators ONNX Runtime's quantized
    graph has and NNCF's version, from the run's preparation)."""
    v = result["versions"]
    quantized = result.get("prepare", {}).get("quantized", {})
    operators = next((q["ort-int8"]["operators"] for q in quantized.values() if q.get("ort-int8", {}).get("operators")), {})
    ops = ", ".join(f"{name} ×{n}" for name, n in operators.items() if name.startswith(("Q", "Dynamic")) or "Integer" in name)
    nncf = next((q["openvino-int8"]["nncf"] for q in quantized.values() if q.get("openvino-int8", {}).get("nncf")), None)
    return ("\n## int8: ours against ONNX Runtime, PyTorch and OpenVINO int8\n\n"
            "Ours compiled with `--precision int8` (JIT). ONNX Runtime: `onnxruntime.quantization.quantize_dynamic` of the "
            f"transformer-optimized model its f32 column runs (onnxruntime {v.get('onnxruntime', '?')}; `weight_type=QInt8` "
            "with the defaults `per_channel=False`, `reduce_range=False`: s8 weights with one symmetric scale per tensor, u8 "
            "activations whose scale and zero point are computed per tensor on every call); it quantizes the MatMuls with "
            "constant weights, the fused attention's QKV projection and the embedding layer (its tables in 8 bits), while "
            "attention's score and context products, softmax, layer norms and GELU stay f32" + (f" (quantized graph: {ops})" if ops else "") + ". PyTorch: eager after "
            "`torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)` (its default dynamic qconfig: "
            "s8 weights with one symmetric scale per tensor; u8 activations quantized per tensor on every call, in 7 bits "
            "(`reduce_range`) on the x86 engine; attention's batched matmuls, softmax and layer norms stay f32). OpenVINO: "
            f"`nncf.quantize` (NNCF {nncf or '?'}, `model_type=TRANSFORMER`, its defaults otherwise: SmoothQuant, "
            "fast bias correction, s8 weights per output channel, the embedding tables in 8 bits, activations per tensor "
            "at static ranges) of the plain ONNX export, calibrated on 16 inputs of the workload's shape with random ids, "
            "and compiled with `INFERENCE_PRECISION_HINT=f32`, so what stays in floating point runs in f32. The quantized "
            "models are made once in the run's preparation (not in the times). Ms median (min–max) in the same interleaved "
            "run, and the cosine of `last_hidden_state` against the same runtime in f32 (ONNX Runtime: the f32 optimized "
            "model; PyTorch: the model before quantization; OpenVINO: the f32 ONNX export) on the benchmark's ids.\n\n")


CPU_COLUMNS = [("ours-aot", "ours AOT, native"), ("ours-aot-multi", "--cpu multi (its best copy)"),
               ("ours-aot-multi-v3", "--cpu multi capped at x86-64-v3 (AVX2)"), ("ours-aot-multi-base", "--cpu multi capped at x86-64")]


def cpu_text(result):
    """The CPU-dispatch section's heading and method."""
    return ("\n## One library for every x86-64: `--cpu multi`\n\n"
            "The same model compiled once for this machine (`tcompile`, native) and once with `--cpu multi` (one copy of the "
            "code each for x86-64-v4 with AVX-512, x86-64-v3 with AVX2 and FMA, and baseline x86-64, chosen by CPUID on the "
            "first call), timed by the same C harness: unset, the library runs its best copy on this CPU; with "
            "`TCOMPILE_CPU=x86-64-v3` or `x86-64` it runs the copy an AVX2-only or an older CPU would. Ms median (min–max) "
            "in the same interleaved run.\n\n")


# The sections that put columns beside the f32 runs of the same workloads.
REDUCED_PRECISION = [(BF16_COLUMNS, bf16_text), (INT8_COLUMNS, int8_text), (CPU_COLUMNS, cpu_text)]


def precision_section(result, columns, text):
    """Reduced-precision columns beside their f32 runs, each with its output's cosine against the same runtime in
    f32: the rows of the encoder workloads that ran any of them; "failed⁴" where the run recorded the process's
    failure, "—" where it did not run."""
    W = result["workloads"]
    reduced = [impl for impl, _ in columns if impl.endswith(("-bf16", "-int8")) or "-multi" in impl]
    wids = [wid for wid in ENCODERS if wid in W and any(i in W[wid]["impls"] for i in reduced)]
    if not wids:
        return ""
    failed = {(e.get("workload"), e.get("impl")) for e in result.get("errors", [])}
    rows = []
    for wid in wids:
        w = W[wid]
        row = [SHORT[wid]]
        for impl, _ in columns:
            e = w["impls"].get(impl)
            if not e or not e.get("ms"):
                row.append("failed⁴" if (wid, impl) in failed else "—")
                continue
            c = f"**{ms(e['ms']['median'])}** ({ms(e['min_ms'])}–{ms(e['max_ms'])})"
            if "cosine_vs_fp32" in e:
                c += f"<br>cos {e['cosine_vs_fp32']:.5f}"
            row.append(c)
        rows.append(row)
    return text(result) + table(["workload"] + [h for _, h in columns], rows) + "\n"


GEMM_SHAPES = {"sgemm_128x384x384": "MiniLM 1×128 projections", "sgemm_128x384x1536": "MiniLM 1×128 FFN up",
               "sgemm_1024x384x1536": "MiniLM 8×128 FFN up", "sgemm_128x768x768": "BERT-base 1×128 projections",
               "sgemm_128x768x3072": "BERT-base 1×128 FFN up"}


def gemm_peak_section(result):
    """Our compiled GEMMs (one fused_linear on a packed weight, JIT) and OpenBLAS's sgemm at the MiniLM and BERT-base
    shapes and at 2048³, as a fraction of the machine's single-precision FMA peak (issue #19's goal: 85 %)."""
    g, fma = result.get("gemm_vs_fma_peak"), result.get("fma_peak_gflops")
    if not g or not fma:
        return ""
    rows = [[name.replace("sgemm_", "").replace("x", " × ") + (f" ({GEMM_SHAPES[name]})" if name in GEMM_SHAPES else ""),
             f"{e['ours_gflops']['median']:.0f}", f"{100 * e['ours_fraction']:.0f} %",
             f"{e['sgemm_gflops']['median']:.0f}" if e.get("sgemm_gflops") else "—",
             f"{100 * e['sgemm_fraction']:.0f} %" if e.get("sgemm_fraction") else "—"] for name, e in g.items()]
    return ("\n## fp32 GEMMs against the FMA peak\n\n"
            f"The machine's single-precision FMA peak, measured by `Benchmarks/aot/fma_peak.c` (register-only FMAs on 24 "
            f"independent accumulators at the widest vectors the CPU has, {result['threads']} threads, best of "
            f"{fma['n']} samples, one before each encoder workload): **{fma['max']:.0f} GFLOP/s** (samples "
            f"{fma['min']:.0f}–{fma['max']:.0f}). Ours: one JIT-compiled `fused_linear` (m × k times a packed k × n weight, "
            "no bias) per shape; OpenBLAS: `cblas_sgemm`; GFLOP/s median over the run's samples (`tcompile_gemm` and "
            "`ceiling` in the results file).\n\n"
            + table(["m × k × n", "ours GFLOP/s", "ours ÷ FMA peak", "OpenBLAS sgemm GFLOP/s", "sgemm ÷ FMA peak"], rows) + "\n")


def ms(v):
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def entry(w, wid, impl):
    """The runtime's results; GPT-2's compiled generator goes in the JIT column."""
    if wid == "gpt2_greedy_64" and impl == "ours-jit":
        impl = "ours-compiled-generator"
    return w["impls"].get(impl)


def cell(w, wid, impl):
    e = w["impls"].get(impl)
    if wid == "gpt2_greedy_64" and impl == "ours-jit":
        e = w["impls"].get("ours-compiled-generator")
        if not e:
            return "n/a¹"
        if e.get("ms"):
            return f"**{ms(e['ms']['median'])}** ({ms(e['min_ms'])}–{ms(e['max_ms'])})<br>{e['tokens_per_s']['median']:.1f} tok/s"
    if not e or not e.get("ms"):
        return NOT_RUN.get((wid, impl), "failed⁴")
    m = e["ms"]["median"]
    s = f"**{ms(m)}** ({ms(e['min_ms'])}–{ms(e['max_ms'])})"
    if "tokens_per_s" in e and e["tokens_per_s"]:
        s += f"<br>{e['tokens_per_s']['median']:.1f} tok/s"
    return s


def encoder_models(W, prep):
    """Which checkpoint each encoder row runs, the inputs it takes and what ORT's transformer optimizer fused."""
    seen, lines = set(), []
    for wid in ENCODERS:
        w = W.get(wid)
        key = w.get("model_key", wid.split("_")[0]) if w else None
        if not w or key in seen:
            continue
        seen.add(key)
        fused = prep.get(f"{key}_ort_fused_operators")
        fused_text = ", ".join(f"{name} ×{n}" for name, n in sorted(fused.items())) if fused else "not recorded"
        inputs = prep.get(f"{key}_inputs") or ["input_ids", "attention_mask", "token_type_ids"]
        lines.append(f"- {MODEL_NAME.get(key, key)}: {w['model']}; inputs "
                     + ", ".join(f"`{i}`" for i in inputs)
                     + f". ONNX Runtime's transformer optimizer (model_type bert) fused: {fused_text}.")
    return ("\nEncoders (random checkpoints are written by `Benchmarks/peers/models_peer.py random-checkpoint` with "
            "transformers' own classes, seed 0, and loaded by every runtime):\n\n" + "\n".join(lines) + "\n") if lines else ""


def table(header, rows):
    out = "| " + " | ".join(header) + " |\n|" + "|".join(" --- " for _ in header) + "|\n"
    for r in rows:
        out += "| " + " | ".join(r) + " |\n"
    return out


def write(result, md_path, png_path, readme_path=os.path.join(ROOT, "README.md")):
    W = result["workloads"]
    v = result["versions"]
    m = result["machine"]
    ceiling = result["ceiling_gflops"]
    peak = result.get("ceiling_peak_gflops") or ceiling.get(result["ceiling_reference"], {}).get("max")
    loads = result["machine"]["load1_per_round"]
    lp = result["machine"].get("load1_after_each_process") or {"median": max(loads), "max": max(loads)}
    noisy = lp["median"] > result["threads"] + 1
    md = ["# Benchmarks: eager vs compiled vs PyTorch, ONNX Runtime and OpenVINO\n"]
    md.append(f"Generated by `Benchmarks/run-all.sh{' --quick' if result['mode'] == 'quick' else ''}` on "
              f"{result['date']} ({result['mode']} mode: {result['rounds']} round(s), {result['seconds'] / 60:.1f} min). "
              f"Machine: {m['cpu']}, {m['cores']} cores ({', '.join(m['features'])}), Linux {m['kernel']}. "
              f"**Threads: {result['threads']}** for every runtime (ours: the compiled model's thread pool — "
              f"`CompileOptions(threads:)`, `NAME_set_threads` — and OpenBLAS threads for eager; `torch.set_num_threads`; "
              f"ORT `intra_op_num_threads`; OpenVINO `INFERENCE_NUM_THREADS`). Machine load: the 1-minute load average "
              f"read after each benchmark process was {lp['median']:.1f} (median), {lp['max']:.1f} (max); the benchmark "
              f"itself accounts for about {result['threads']}"
              + (" — **other work was running on this machine during the run: these figures are noisy, and runtimes that "
                 "spin-wait for their threads (PyTorch's OpenMP, OpenBLAS) suffer most**" if noisy else "") + ".\n")
    md.append(f"Versions: {v.get('swift', '?')}; LLVM {v.get('llvm', '?')}; OpenBLAS {v.get('openblas', '?')} "
              f"(ours with `OPENBLAS_CORETYPE={v.get('openblas_coretype_ours', '?')}`; the peer processes run without "
              f"`OPENBLAS_CORETYPE`/`OPENBLAS_L2_SIZE`); torch {v.get('torch', '?')}, transformers {v.get('transformers', '?')}, "
              f"onnxruntime {v.get('onnxruntime', '?')}, OpenVINO {v.get('openvino', '?')}, Python {v.get('python', '?')}.\n")
    md.append("![ratios](benchmarks.png)\n")

    md.append("## Time per call\n")
    md.append("Median over rounds of each process's median, in ms (**median** (fastest–slowest single call over all "
              "rounds)). Each cell is its own process: load, compile, warm-up call, then the timed calls. "
              "Processes of ours and the peers alternate within a round (and the order flips every round).\n")
    rows = []
    for wid in ORDER:
        if wid not in W:
            continue
        rows.append([LONG[wid]] + [cell(W[wid], wid, i) for i in IMPLS])
    md.append(table(["workload"] + [HEAD[i] for i in IMPLS], rows))
    md.append(encoder_models(W, result.get("prepare", {})))
    have_generator = "ours-compiled-generator" in W.get("gpt2_greedy_64", {}).get("impls", {})
    md.append(("\n¹ GPT-2's JIT cell is `CompiledGenerator` (`GPT2CompiledBench`): the prefill and single-token "
               "decode graphs traced from the same model, JIT-compiled, driven by the same decoding loop as eager "
               "`generate`. The AOT generating library is measured by the decode workload (README's decode table).  \n" if have_generator else
               "\n¹ GPT-2 compiled decoding is `CompiledGenerator`, measured by `GPT2CompiledBench`, which did not build "
               "in this run (see `$SCRATCH/gpt2-compiled-build.log`): nothing is reported. There is no AOT generation "
               "harness.  \n") +
              "² GPT-2 through ONNX Runtime: `models_peer.py prepare-gpt2` exports the model as two graphs, prefill and "
              "one-token decode with the past key/value inputs (the split `CompiledGenerator` uses), runs the transformer "
              "optimizer (model_type gpt2) on each, and decodes greedily in Python with the cache handed from one step "
              "to the next. torch.compile and OpenVINO generation are not set up in this benchmark.  \n"
              "³ Training is eager only (ours and PyTorch); ours has no compiled training path.  \n"
              "⁴ The process failed; see `errors` in results/all.json.\n")

    md.append("".join(precision_section(result, columns, text) for columns, text in REDUCED_PRECISION))
    md.append(gemm_peak_section(result))

    md.append("## Ratios: our time ÷ peer time (below 1: ours is faster)\n")
    pairs = [("ours-aot", p) for p in ("torch", "torch-compile", "ort", "openvino")] + \
            [("ours-jit", p) for p in ("torch", "ort", "openvino")] + [("ours-eager", "torch")]
    rows = []
    for wid in ORDER:
        if wid not in W:
            continue
        r = W[wid]["ratios"]
        rows.append([SHORT[wid]] + [f"{r[f'{a}/{b}']:.2f}" if f"{a}/{b}" in r else "—" for a, b in pairs])
    md.append(table(["workload"] + [f"{HEAD[a]} / {HEAD[b]}" for a, b in pairs], rows))

    md.append("\n## Fraction of the machine's ceiling\n")
    cl = [f"{k.replace('sgemm_', '')}: {c['median']:.0f} ({c['min']:.0f}–{c['max']:.0f})" for k, c in ceiling.items()]
    n = next(iter(ceiling.values()))["n"] if ceiling else 0
    md.append(f"Ceiling: single-precision GEMM measured in the same run (direct `cblas_sgemm`, OpenBLAS, {result['threads']} "
              f"threads), sampled {n} times (before every encoder workload of every round); GFLOP/s median (min–max) — "
              f"{'; '.join(cl)}. The fraction below is the workload's matmul FLOPs per "
              f"call (counted from the traced graph: 2·M·N·K for every matmul; GPT-2 analytic) ÷ its time ÷ the best 2048³ "
              f"rate observed ({peak:.0f} GFLOP/s); on a loaded machine the samples vary, and a fraction above 100 % means "
              f"the workload ran in a quieter moment than any ceiling sample. Our compiled code (JIT and AOT) uses its own register-blocked GEMM, not sgemm; our "
              f"eager kernels call OpenBLAS.\n" if peak else "Ceiling not measured.\n")
    rows = []
    for wid in ORDER:
        w = W.get(wid)
        if not w or not w.get("matmul_flops"):
            continue
        rows.append([SHORT[wid], f"{w['matmul_flops'] / 1e9:.2f}"] +
                    [f"{100 * w['impls'][i]['fraction_of_ceiling']:.0f} %" if i in w["impls"] and "fraction_of_ceiling" in w["impls"][i] else "—" for i in IMPLS])
    md.append(table(["workload", "GFLOP / call"] + [HEAD[i] for i in IMPLS], rows))

    md.append("\n## Peak memory, compile time, time to first result\n")
    if "xlmr_1x128" in W:
        md.append("XLM-R's word embedding table is 250002 × 768 float32, 768 MB of its 1.1 GB of weights, so its peak "
                  "memory row shows what each runtime keeps of it: ours eager and JIT map the checkpoint's safetensors file "
                  "(aligned float32 tensors are borrowed from the mapping, not copied, at load), the AOT library maps its "
                  "`.weights` file; PyTorch loads it through transformers' safetensors loader, ONNX Runtime and OpenVINO "
                  "from the ONNX file. "
                  + (f"Preparing the ONNX model (`torch.onnx.export` and the transformer optimizer, one process) peaked at "
                     f"{result['prepare']['xlmr_onnx_prepare_peak_rss_mb']:.0f} MB; "
                     if result.get("prepare", {}).get("xlmr_onnx_prepare_peak_rss_mb") else "")
                  + (f"`tcompile export` and `tcompile` (two processes, each writing a 1.1 GB weights file) at "
                     f"{result['prepare']['xlmr_aot_peak_rss_mb']:.0f} MB."
                     if result.get("prepare", {}).get("xlmr_aot_peak_rss_mb") else "") + "\n")
    md.append("Peak memory is the process's max RSS (from `wait4`), so it includes the runtime itself (for the Python "
              "peers: the interpreter and the imported libraries). Compile time: ours JIT = trace + -O2 passes + LLVM JIT "
              "in process; ours AOT = `tcompile export` + `tcompile` (two processes, once per run); torch.compile = its "
              "first call; ONNX Runtime = `torch.onnx.export` + transformer optimizer (once per run) + session creation; "
              "OpenVINO = the same export + `compile_model`. For ours JIT the part spent tracing (running the eager model at "
              "several sizes and fitting the shapes) is shown in parentheses. Time to first result: from process launch to the first "
              "output (imports, weights, compile, first call).\n")
    rows = []
    for wid in ORDER:
        w = W.get(wid)
        if not w:
            continue
        def mem(i):
            e = entry(w, wid, i)
            return f"{e['max_rss_mb']['median']:.0f}" if e and e.get("max_rss_mb") else "—"
        def comp(i):
            e = entry(w, wid, i)
            if not e:
                return "—"
            c = e["compile_ms"]["median"] if e.get("compile_ms") else None
            extra = (e.get("export_ms") or 0) + (e.get("ort_optimizer_ms") or 0)
            if c is None:
                return "—"
            if e.get("trace_ms"):
                return f"{(c + extra) / 1000:.1f} (trace {e['trace_ms']['median'] / 1000:.1f})"
            return f"{(c + extra) / 1000:.1f}"
        def first(i):
            e = entry(w, wid, i)
            return f"{e['first_result_s']['median']:.2f}" if e and e.get("first_result_s") else "—"
        rows.append([SHORT[wid], "peak MB"] + [mem(i) for i in IMPLS])
        if wid not in ("training_step",):
            rows.append(["", "compile s"] + [comp(i) for i in IMPLS])
            rows.append(["", "first result s"] + [first(i) for i in IMPLS])
    md.append(table(["workload", ""] + [HEAD[i] for i in IMPLS], rows))

    if result["coldstart"]:   # absent from an --only run without the cold-start workloads
        md.append("\n## Cold start of a one-sentence app\n")
        md.append("Whole process, launch to exit, for one sentence (“The striker scored a late goal in the final.”): "
                  "the AOT library linked into a small C program (weights memory-mapped by `NAME_create`, one `NAME_run`) "
                  "against `python -c \"import torch, transformers; …\"` loading the same checkpoint and tokenizer and running "
                  "one forward. The C programs get token ids from `tcompile tokenize` (run beforehand, not timed); Python "
                  "tokenizes inside the timed process.\n")
    rows = []
    labels = {"coldstart_minilm": "MiniLM-L6 sentence embedding (Benchmarks/aot/harness.c)",
              "coldstart_classify": "tiny BERT classifier (samples/link-c)"}
    for wid, d in result["coldstart"].items():
        o, t = d.get("ours-aot"), d.get("torch")
        rows.append([labels[wid], f"{o['wall_s']['median']:.3f} s, {o['max_rss_mb']['median']:.0f} MB" if o else "—",
                     f"{t['wall_s']['median']:.2f} s, {t['max_rss_mb']['median']:.0f} MB" if t else "—",
                     f"{t['wall_s']['median'] / o['wall_s']['median']:.0f}×" if o and t else "—"])
    if rows:
        md.append(table(["app", "ours AOT (C)", "Python + PyTorch", "Python ÷ ours"], rows))

    rows = []
    for kind in ("wordpiece", "bpe"):
        w = W.get(f"tokenizer_{kind}")
        if not w or "ours" not in w["impls"] or "hf-tokenizers" not in w["impls"]:
            continue
        o, h = w["impls"]["ours"]["mb_per_s"], w["impls"]["hf-tokenizers"]["mb_per_s"]
        rows.append([w["model"].split(" tokenizer")[0], f"{o['median']:.1f} ({o['min']:.1f}–{o['max']:.1f})",
                     f"{h['median']:.1f} ({h['min']:.1f}–{h['max']:.1f})", f"{o['median'] / h['median']:.2f}×"])
    if rows:
        md.append("\n## Tokenizers (one thread, MB/s of UTF-8 input; higher is better)\n")
        md.append(table(["tokenizer", "ours", "HF tokenizers " + str(W.get('tokenizer_wordpiece', {}).get('impls', {}).get('hf-tokenizers', {}).get('version', '')), "ours ÷ HF"], rows))

    checks = []
    for wid in ORDER:
        w = W.get(wid)
        if not w:
            continue
        ref = w["impls"].get("torch", {}).get("check")
        for i, e in w["impls"].items():
            if ref and e.get("check") and abs(e["check"]["median"] - ref["median"]) > 1e-3 * abs(ref["median"]):
                checks.append(f"{SHORT[wid]} {i}: mean |output| {e['check']['median']:.6f} vs PyTorch {ref['median']:.6f}")
        if "check_tokens" in w["impls"].get("torch", {}) and "check_tokens" in w["impls"].get("ours-eager", {}):
            if w["impls"]["torch"]["check_tokens"] != w["impls"]["ours-eager"]["check_tokens"]:
                checks.append(f"{SHORT[wid]}: first tokens differ from PyTorch's")
    md.append("\n## Same inputs, same results\n")
    md.append("Every runtime gets the same ids (1000 + 7919·i mod 29000, mask ones, token types zero where the model takes "
              "them) and the same weights (the random BERT-base, DistilBERT, XLM-R and GPT-2 checkpoints are written once and "
              "loaded by all), and reports the "
              "mean |last_hidden_state| (GPT-2: its first 8 greedy tokens). "
              + ("All agree with PyTorch within 0.1 %." if not checks else "Disagreements: " + "; ".join(checks) + ".") + "\n")
    if result["errors"]:
        md.append("\nProcesses that failed in this run: " + "; ".join(
            f"{e['workload']} {e['impl']}: `{e['error'][:160]}`" for e in result["errors"]) + ".\n")

    md.append("\n## How it is measured\n")
    md.append(
        "- `Benchmarks/run-all.sh` builds the release binaries (`ModelBench`, `TrainingStep`, `TokenizerThroughput`, "
        "`tcompile`, and `GPT2CompiledBench` when it builds) in the Benchmarks package, which depends on TCompile by "
        "path (so the library's own build never sees a benchmark dependency), then runs `Benchmarks/bench_all.py`. "
        "They are linked as `scripts/build-tcompile.sh` links the release `tcompile` (`Benchmarks/swift-build.sh`: "
        "LLVM, the Swift runtime and Foundation statically), since 2026-12-04; runs before that measured the "
        "shared-library build, whose process start is ≈ 40 ms longer.\n"
        "- These are plain timed executables rather than package-benchmark suites: every figure here is compared "
        "with a Python, C or ONNX peer in another process, interleaved within the same run, and each measurement "
        "must be its own process to report its peak RSS and its time to first result. package-benchmark stays for "
        "in-process Swift micro-benchmarks with malloc counts (`swift package benchmark --target TokenizerBenchmarks`).\n"
        "- Ours eager runs the model code under `withNoGrad`; PyTorch runs under `inference_mode` (default SDPA "
        "attention); torch.compile is the default inductor backend with `dynamic=False` (its cache is kept in "
        "Benchmarks/.work, so rounds after the first compile faster). ORT runs the model exported by the legacy "
        "exporter (`dynamo=False`, opset 17, dynamic batch and seq) and rewritten by `onnxruntime.transformers.optimizer` "
        "(model_type bert for every encoder, DistilBERT and XLM-R included; the fused operators per model are listed "
        "below the time table), with "
        "`ORT_ENABLE_ALL`, sequential execution. OpenVINO compiles the plain ONNX export (dynamic shapes, "
        "`PERFORMANCE_HINT=LATENCY`) with `INFERENCE_PRECISION_HINT=f32`: "
        + (f"this CPU has {' and '.join(f.upper() for f in m['features'] if 'bf16' in f)}, where OpenVINO's default would "
           "compute in bfloat16" if any("bf16" in f for f in m["features"]) else "on a CPU with bfloat16 instructions "
           "OpenVINO's default would compute in bfloat16")
        + " — every runtime here computes in float32.\n"
        "- Ours JIT and AOT are compiled once for batch ≤ 8, seq ≤ 128 and run every shape from that one compilation; "
        "torch.compile specializes per shape; ORT and OpenVINO use dynamic shapes.\n"
        "- Matmul FLOPs per call are `Graph.matmulFLOPs(at:)` of the traced graph at the workload's dims (the count "
        "`tcompile` prints in its summary); GPT-2's are analytic (prefill of 8 tokens, then 63 "
        "single-token steps with the KV cache, LM head on every generating position).\n"
        "- GPT-2: ours and PyTorch load the same random checkpoint; ours `GPT2LMHeadModel.generate` (greedy, KV cache, "
        "EOS disabled) under `withNoGrad`, PyTorch `generate(do_sample=False, use_cache=True, min/max_new_tokens=64)`. "
        "Training step and tokenizers: the same programs as `run-training.sh` and `run-tokenizers.sh` (tokenizers on one "
        "thread, both sides).\n"
        "- Raw rows (one per process, with its command line) go to `Benchmarks/results/raw/all-*.jsonl` (not committed); "
        "`python3 Benchmarks/bench_all.py --from-raw FILE` rewrites the documents from one.\n"
        "- `--quick` runs one round with few repetitions (development only); the full run takes three rounds.\n")
    with open(md_path, "w") as f:
        f.write("\n".join(md))
    plot(result, png_path)
    update_readme(result, readme_path)
    update_measured(result, readme_path)


def plot(result, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    W = result["workloads"]
    wids = [w for w in ORDER if w in W and "torch" in W[w]["impls"] and W[w]["impls"]["torch"].get("ms")]
    impls = ["ours-eager", "ours-jit", "ours-aot", "torch-compile", "ort", "openvino"]
    colors = {"ours-eager": "#9ecae1", "ours-jit": "#4292c6", "ours-aot": "#08519c", "torch-compile": "#fdae6b",
              "ort": "#e6550d", "openvino": "#a63603"}
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(19, 5.5), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(impls)
    for k, impl in enumerate(impls):
        xs, ys = [], []
        for j, wid in enumerate(wids):
            e = W[wid]["impls"].get(impl if not (wid == "gpt2_greedy_64" and impl == "ours-jit") else "ours-compiled-generator")
            if e and e.get("ms"):
                xs.append(j + (k - len(impls) / 2 + 0.5) * width)
                ys.append(W[wid]["impls"]["torch"]["ms"]["median"] / e["ms"]["median"])
        bars = ax.bar(xs, ys, width, label=HEAD[impl], color=colors[impl])
        for x, y in zip(xs, ys):
            ax.text(x, y * 1.03, f"{y:.1f}", ha="center", va="bottom", fontsize=6.5, rotation=90)
    ax.axhline(1, color="black", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(wids)))
    ax.set_xticklabels([SHORT[w] for w in wids], fontsize=9)
    ax.set_ylabel("speed relative to PyTorch eager (×, log)")
    ax.set_title(f"Speed relative to PyTorch eager, {result['threads']} threads, float32 "
                 f"({result['date'][:10]}, {result['mode']} run{', NOISY machine' if noisy(result) else ''}; higher is faster)", fontsize=10)
    ax.legend(fontsize=8, ncol=3)
    ax.grid(axis="y", which="both", alpha=0.3)
    # Right: our compiled time divided by each peer's (below 1: ours is faster).
    enc = [w for w in ORDER if w in W and "ours-aot" in W[w]["impls"]]
    peers = ["torch", "torch-compile", "ort", "openvino"]
    pcolors = {"torch": "#969696", "torch-compile": "#fdae6b", "ort": "#e6550d", "openvino": "#a63603"}
    width2 = 0.8 / len(peers)
    for k, peer in enumerate(peers):
        xs, ys = [], []
        for j, wid in enumerate(enc):
            r = W[wid]["ratios"].get(f"ours-aot/{peer}")
            if r:
                xs.append(j + (k - len(peers) / 2 + 0.5) * width2)
                ys.append(r)
        ax2.bar(xs, ys, width2, label=f"÷ {HEAD[peer]}", color=pcolors[peer])
        for x, y in zip(xs, ys):
            ax2.text(x, y * 1.03, f"{y:.2f}", ha="center", va="bottom", fontsize=6.5, rotation=90)
    ax2.axhline(1, color="black", lw=0.8)
    ax2.set_yscale("log")
    ax2.set_xticks(range(len(enc)))
    ax2.set_xticklabels([SHORT[w] for w in enc], fontsize=8)
    ax2.set_ylabel("ours AOT time ÷ peer time (log; below 1: ours faster)")
    ax2.set_title("Ours AOT library against each peer", fontsize=10)
    ax2.legend(fontsize=8)
    ax2.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


def noisy(result):
    lp = result["machine"].get("load1_after_each_process")
    return bool(lp) and lp["median"] > result["threads"] + 1


def update_readme(result, readme_path):
    """Replaces the block between the bench markers in README.md with a short table from this run."""
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    text = open(readme_path).read()
    if begin not in text or end not in text:
        return
    W = result["workloads"]
    rows = []
    for wid in ENCODERS:
        w = W.get(wid)
        if not w:
            continue
        def t(i):
            e = w["impls"].get(i)
            return ms(e["ms"]["median"]) if e and e.get("ms") else "—"
        aot = w["impls"].get("ours-aot", {})
        rows.append([SHORT[wid]] + [t(i) for i in IMPLS] +
                    [f"{100 * aot['fraction_of_ceiling']:.0f} %" if "fraction_of_ceiling" in aot else "—"])
    block = (f"{begin}\nms per call, median; {result['threads']} threads, float32; "
             f"{result['mode']} run of {result['date'][:10]}"
             + (" on a loaded machine (noisy)" if noisy(result) else "")
             + ". All columns, ratios, memory, compile times and cold starts: [docs/benchmarks.md](docs/benchmarks.md).\n\n"
             + table(["workload"] + [HEAD[i] for i in IMPLS] + ["AOT % of sgemm peak"], rows)
             + "\n![speed relative to PyTorch eager](docs/benchmarks.png)\n" + end)
    head, rest = text.split(begin, 1)
    text = head + block + rest.split(end, 1)[1]
    with open(readme_path, "w") as f:
        f.write(text)


def median(w, impl, key="ms"):
    e = w["impls"].get(impl) if w else None
    v = e.get(key) if e else None
    return v["median"] if v else None


def measured_rows(result, tensors):
    """The README's "Measured here" rows: each figure from this run's results, or from
    Benchmarks/results/tensors.json (its own date) for the tensor kernels, which run-all.sh does not time."""
    W, date = result["workloads"], result["date"][:10]
    rows = []
    if tensors:
        tw, tdate = tensors["workloads"], tensors["date"][:10]
        fractions = [w["ours_fraction_of_cblas"] for k, w in tw.items() if "ours_fraction_of_cblas" in w]
        speedups = [w["speedup_vs_numpy"] for k, w in tw.items() if "speedup_vs_numpy" in w]
        if fractions:
            rows.append(["eager matmul at BERT shapes vs a direct `cblas_sgemm`",
                         f"{100 * min(fractions):.0f}–{100 * max(fractions):.0f} % (`tensors.json`, {tdate})"])
        if speedups:
            rows.append(["eager elementwise ops and softmax over 1M floats vs NumPy",
                         f"{min(speedups):.2f}–{max(speedups):.1f}× faster (`tensors.json`, {tdate})"])
    tok = []
    for wid, name in [("tokenizer_wordpiece", "WordPiece"), ("tokenizer_bpe", "byte-level BPE")]:
        w = W.get(wid)
        r = next(iter(w["ratios"].values()), None) if w else None
        if r:
            tok.append(f"{r:.1f}× ({name})")
    if tok:
        rows.append(["tokenizers vs Hugging Face `tokenizers`, one thread, throughput", ", ".join(tok)])
    eager = []
    for wid in ["minilm_1x16", "minilm_1x128", "minilm_8x128"]:
        o, t = median(W.get(wid), "ours-eager"), median(W.get(wid), "torch")
        if o and t:
            eager.append(f"{o / t:.2f}× at {SHORT[wid].split()[-1]}")
    if eager:
        rows.append(["eager MiniLM-L6 forward, ours ÷ PyTorch eager (time)", ", ".join(eager)])
    g = W.get("gpt2_greedy_64")
    if g:
        names = [("ours-compiled-generator", "ours compiled"), ("ort", "ONNX Runtime"), ("ours-eager", "ours eager"),
                 ("torch", "PyTorch eager")]
        parts = [f"{label} {median(g, impl, 'tokens_per_s'):.1f}" for impl, label in names
                 if median(g, impl, "tokens_per_s")]
        rows.append(["GPT-2 small greedy decoding, 64 tokens (tokens/s)", ", ".join(parts)])
    t = W.get("training_step")
    if t and t.get("ratios"):
        rows.append(["tiny BERT MLM training step, ours ÷ PyTorch eager (time)",
                     f"{next(iter(t['ratios'].values())):.2f}×"])
    note = (f"{result['threads']} threads unless said; {result['mode']} run of {date}"
            + (" on a loaded machine (noisy)" if noisy(result) else "") + f", {result['machine'].get('cpu', 'CPU')}")
    return note, rows


def update_measured(result, readme_path, tensors_path=os.path.join(HERE, "results", "tensors.json")):
    """Replaces the block between the measured markers in README.md with `measured_rows`."""
    begin, end = "<!-- measured:begin -->", "<!-- measured:end -->"
    text = open(readme_path).read()
    if begin not in text or end not in text:
        return
    tensors = json.load(open(tensors_path)) if os.path.exists(tensors_path) else None
    note, rows = measured_rows(result, tensors)
    block = f"{begin}\n{note}; from `Benchmarks/results/all.json` unless another file is named.\n\n" + table(["workload", "result"], rows) + end
    head, rest = text.split(begin, 1)
    with open(readme_path, "w") as f:
        f.write(head + block + rest.split(end, 1)[1])


DECODE_MODELS = {"gpt2": "GPT-2 small", "smollm2": "SmolLM2-135M sizes", "tinyllama": "TinyLlama-1.1B sizes"}
DECODE_IMPLS = [("aot", "ours, AOT library"), ("aot_bf16", "ours bf16, AOT library"), ("aot_int8", "ours int8, AOT library"), ("ours", "ours, JIT"), ("torch", "PyTorch eager"), ("ort", "ONNX Runtime"),
                ("ct2", "CTranslate2 f32"), ("ct2_int8", "CTranslate2 int8"), ("llamacpp", "llama.cpp f32")]


def write_decode(result, readme_path):
    """Replaces the block between the decode markers in README.md with this run's decode table (from
    results/decode.json): decode tokens/s and the fraction of the measured read bandwidth, prefill time."""
    begin, end = "<!-- decode:begin -->", "<!-- decode:end -->"
    text = open(readme_path).read()
    if begin not in text or end not in text:
        return
    rows = []
    for model, w in result["workloads"].items():
        def cell(impl):
            e = w["impls"].get(impl)
            if not e:
                return "—"
            fraction = f" ({100 * e['fraction_of_bandwidth']:.0f} %" if "fraction_of_bandwidth" in e else ""
            if fraction:
                adjacent = e.get("fraction_of_adjacent_bandwidth")
                fraction += f" / {100 * adjacent['median']:.0f} %)" if adjacent else ")"
            return f"{e['decode_tokens_per_s']['median']:.1f}{fraction}, {e['prefill_ms']['median']:.0f} ms"
        bw = w.get("read_gb_per_s")
        rows.append([DECODE_MODELS.get(model, model), f"{w['weight_bytes_per_token'] / 1e6:.0f} MB",
                     f"{bw['median']:.1f} GB/s" if bw else "—"] + [cell(i) for i, _ in DECODE_IMPLS])
    notes = "; ".join(f"{k}: {v}" for k, v in sorted(result.get("notes", {}).items()))
    load = result["machine"].get("load1") or {}
    block = (f"{begin}\nGreedy decoding, batch 1, prompt {next(iter(result['workloads'].values()))['prompt']} tokens then "
             f"{next(iter(result['workloads'].values()))['new_tokens']} new tokens, {result['threads']} threads, float32, random weights; "
             f"{result['mode']} run of {result['date'][:10]} (load average {load.get('median', 0):.1f} from other work during it). "
             "Each cell: decode tokens/s (weight bytes read per token × tokens/s as a share of the best read bandwidth "
             "measured in the run / of the bandwidth measured just before and after that runtime), time of the prefill. "
             "From `Benchmarks/results/decode.json`."
             + (f" Notes: {notes}." if notes else "")
             + (f" Models not in this run: {', '.join(DECODE_MODELS.get(m, m) for m in result['models_not_run'])}."
                if result.get("models_not_run") else "") + "\n\n"
             + table(["model", "weights read / token", "read bandwidth"] + [label for _, label in DECODE_IMPLS], rows) + end)
    head, rest = text.split(begin, 1)
    with open(readme_path, "w") as f:
        f.write(head + block + rest.split(end, 1)[1])


SEQ2SEQ_MODELS = {"t5small": "t5-small sizes", "bartbase": "bart-base sizes"}
SEQ2SEQ_IMPLS = [("ours", "ours compiled"), ("ours_eager", "ours eager"), ("torch", "PyTorch generate"), ("ort", "ONNX Runtime"),
                 ("ct2", "CTranslate2 f32"), ("ct2_int8", "CTranslate2 int8")]


def write_seq2seq(result, md_path):
    """Replaces the block between the seq2seq markers in docs/benchmarks.md (appending a section when there is none)
    with this run's table (from results/seq2seq.json): tokens/s and time to first token per runtime, the common
    prefix of its 64 tokens with PyTorch's, and ours compiled against CTranslate2 float32 (the issue's goal)."""
    begin, end = "<!-- seq2seq:begin -->", "<!-- seq2seq:end -->"
    rows = []
    for w in result["workloads"].values():
        model = SEQ2SEQ_MODELS.get(w.get("checkpoint"), w["model"])

        def cell(impl):
            e = w["impls"].get(impl)
            if not e:
                return "—"
            same = e.get("same_tokens_as_torch")
            mark = "" if same is None or same == w["new_tokens"] else f" ≠{same}"
            return f"{e['tokens_per_s']['median']:.1f}, {e['first_token_ms']['median']:.0f} ms{mark}"
        goal = w.get("ours_vs", {}).get("ct2")
        rows.append([model, "greedy" if w["num_beams"] == 1 else f"beam {w['num_beams']}"] + [cell(i) for i, _ in SEQ2SEQ_IMPLS]
                    + [f"{goal:.2f}×" if goal else "—"])
    notes = "; ".join(f"{k}: {v}" for k, v in sorted(result.get("notes", {}).items()))
    errors = "; ".join(f"{e['model']} {e['mode']} {e['impl']}: {e['error']}" for e in result.get("errors", []))
    load = result["machine"].get("load1") or {}
    # More runnable threads than cores: OpenMP runtimes (PyTorch, CTranslate2) spin-wait in their barriers and lose
    # far more than thread pools that sleep (ours, ONNX Runtime), so such a run does not compare the runtimes.
    loaded = load.get("median", 0) > result["machine"].get("cores", result["threads"])
    warning = (f" **Not a valid comparison: the load average ({load['median']:.1f}) exceeded the {result['machine'].get('cores')} cores "
               "during the run, which slows the OpenMP runtimes (PyTorch, CTranslate2) far more than ours and ONNX Runtime; "
               "rerun on an idle machine.**" if loaded else "")
    first = next(iter(result["workloads"].values()))
    block = (f"{begin}\nEncoder-decoder generation, batch 1, a source of {first['source_tokens']} fixed token ids, exactly "
             f"{first['new_tokens']} new tokens (EOS masked on every step by min_new_tokens = max_new_tokens in every runtime), "
             f"{result['threads']} threads, random weights; {result['mode']} run ({result['rounds']} round(s)) of {result['date'][:10]} on "
             f"{result['machine']['cpu']} (load average {load.get('median', 0):.1f} from other work during it).{warning} "
             "Each cell: tokens/s (new tokens ÷ the whole generation's time), time to first token (encoder + first decoder step); "
             "≠N: only the first N of its tokens are PyTorch's. Last column: ours compiled tokens/s ÷ CTranslate2 float32's "
             "(the goal is above 1). Method: " + result["method"] + " From `Benchmarks/results/seq2seq.json`."
             + (f" Notes: {notes}." if notes else "") + (f" Failed runs: {errors}." if errors else "")
             + (f" Models not in this run: {', '.join(SEQ2SEQ_MODELS.get(m, m) for m in result['models_not_run'])}."
                if result.get("models_not_run") else "") + "\n\n"
             + table(["model", "search"] + [label for _, label in SEQ2SEQ_IMPLS] + ["ours ÷ CT2 f32"], rows) + end)
    replace_block(md_path, begin, end, block, "Summarization and translation models (seq2seq generation)")


def write_precision(result, md_path):
    """Replaces the block between the precision markers in docs/benchmarks.md (appending one when there is none)
    with the bf16 and int8 sections of a run kept as Benchmarks/results/precision.json (`run-all.sh --only` with
    the MiniLM and BERT-base workloads), so that they stay beside a full run's tables."""
    begin, end = "<!-- precision:begin -->", "<!-- precision:end -->"
    m = result["machine"]
    load = m.get("load1_after_each_process") or {}
    intro = (f"From `Benchmarks/results/precision.json`: a {result['mode']} run ({result['rounds']} round(s)) of "
             f"{result['date'][:10]} with only the MiniLM-L6 and BERT-base workloads, on {m['cpu']} "
             f"({', '.join(m['features'])}; ours has no AMX kernels, so there are no AMX columns), {result['threads']} threads, load average "
             f"{load.get('median', 0):.1f} (median after each process).\n")
    block = (begin + "\n" + intro + "".join(precision_section(result, columns, text) for columns, text in REDUCED_PRECISION)
             + gemm_peak_section(result) + end)
    replace_block(md_path, begin, end, block, "Reduced precision (bf16 and int8)")


def replace_block(md_path, begin, end, block, heading):
    """Puts `block` (which starts with `begin` and ends with `end`) in place of the one between those markers in
    the file, or appends it under a new `## heading` when there is none: the workloads that run on their own
    (compile, seq2seq, the reduced-precision run) keep their part of docs/benchmarks.md this way."""
    text = open(md_path).read()
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"
    with open(md_path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--precision":
        write_precision(json.load(open(sys.argv[2])), os.path.join(ROOT, "docs", "benchmarks.md"))
        sys.exit(0)
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "all.json")
    write(json.load(open(path)), os.path.join(ROOT, "docs", "benchmarks.md"), os.path.join(ROOT, "docs", "benchmarks.png"))
