#!/usr/bin/env python3
"""Python peers of ModelBench and the AOT harness, one workload per process (run-all.sh runs them interleaved
with ours and reads each process's peak RSS). Prints one JSON object on stdout.

  models_peer.py prepare  --model DIR --out DIR --name NAME --num-heads H --hidden H
      exports DIR's encoder (AutoModel: BERT, DistilBERT, XLM-R) to NAME.onnx (legacy TorchScript exporter,
      dynamo=False, dynamic batch and seq; inputs input_ids, attention_mask and, when the family has them,
      token_type_ids) and runs onnxruntime.transformers.optimizer (model_type bert for all three) into
      NAME.opt.onnx.
  models_peer.py encoder  --runtime torch|torch-compile|ort|openvino|torch-bf16|openvino-bf16|ort-int8|torch-int8|openvino-int8
                          --model DIR --onnx-dir DIR --name NAME --batch B --seq S --reps N --threads T
      torch-bf16: PyTorch eager under torch.autocast("cpu", dtype=torch.bfloat16); openvino-bf16: OpenVINO with
      INFERENCE_PRECISION_HINT=bf16 (only where the CPU's OPTIMIZATION_CAPABILITIES list BF16; otherwise the
      process fails saying so). ort-int8: onnxruntime.quantization.quantize_dynamic of NAME.opt.onnx (the model
      the ort peer runs), QInt8 weights, one scale per weight tensor, u8 activations quantized per tensor at run
      time; torch-int8: torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8);
      openvino-int8: nncf.quantize (model_type TRANSFORMER) of NAME.onnx calibrated on 16 random-id inputs of
      the workload's shape, compiled with INFERENCE_PRECISION_HINT=f32. All five report cosine_vs_fp32 and
      max_abs_vs_fp32 of last_hidden_state against the same runtime in f32 (computed after the timed calls).
  models_peer.py quantize --runtime ort-int8|openvino-int8 --onnx-dir DIR --name NAME [--batch B --seq S]
      writes the quantized model the int8 runtime loads, once (the encoder command does it too when it is
      missing): NAME.opt.int8.onnx, or NAME.int8-BxS.xml/.bin for OpenVINO, each with a .json of how it was
      made (time, quantized operators); redone when the f32 model it comes from is newer.
  models_peer.py prepare-gpt2 --model DIR --out DIR
      exports DIR's GPT2LMHeadModel as two graphs, gpt2-prefill.onnx (ids, mask, positions → last logits and
      the cache) and gpt2-decode.onnx (one token and the cache of `past` positions → logits and the cache one
      longer), the split our CompiledGenerator uses, and runs the transformer optimizer (model_type gpt2) on
      each into *.opt.onnx.
  models_peer.py gpt2     --runtime torch|ort --model DIR [--onnx-dir DIR] --tokens 64 --prompt 8 --reps N --threads T
  models_peer.py coldstart --model DIR --text TEXT [--classifier]
      import torch + transformers, load the model and tokenizer, tokenize, one forward: the cold start that
      the AOT C app is compared with (the caller times the whole process).
  models_peer.py compile  --runtime ort|openvino --onnx-dir DIR --name NAME --threads T   (session creation / compile_model)
  models_peer.py random-checkpoint --arch bert-base|distilbert|xlm-roberta|gpt2 --out DIR
      a randomly initialized checkpoint (seed 0), so that ours and the peers load identical weights.

Threads: torch.set_num_threads(T); ORT intra_op_num_threads=T (inter_op 1, sequential); OpenVINO
INFERENCE_NUM_THREADS=T with f32 inference precision (on a CPU with AVX512_BF16 or AMX-BF16, as the benchmark
machine has, OpenVINO's default would run in bfloat16). Ids are the deterministic sequence ModelBench and the AOT harness use.
"""
import argparse
import json
import os
import sys
import time

# The peers run with their own BLAS choices: drop the OpenBLAS overrides ours need (docs/architecture.md, "Facts measured here").
_unset = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if os.environ.pop(v, None) is not None]
if _unset:
    print(f"models_peer: unset {', '.join(_unset)} for this peer process", file=sys.stderr)

T0 = time.time()


def ids_for(batch, seq):
    return [1000 + (7919 * i) % 29000 for i in range(batch * seq)]


def summary(samples):
    s = sorted(samples)
    return {"median_ms": s[len(s) // 2] * 1e3, "min_ms": s[0] * 1e3, "max_ms": s[-1] * 1e3}


def timed(reps, body):
    samples = []
    for _ in range(max(1, reps)):
        t = time.perf_counter()
        body()
        samples.append(time.perf_counter() - t)
    return summary(samples)


def emit(fields):
    fields["unset_env"] = _unset
    json.dump(fields, sys.stdout, sort_keys=True)
    print()


def input_names(config):
    """The encoder's inputs, in the order of our traced graph and the AOT header: DistilBERT and XLM-R
    (type_vocab_size 1) take no token types, as TCompile's families declare them."""
    if config.model_type == "distilbert" or getattr(config, "type_vocab_size", 1) <= 1:
        return ["input_ids", "attention_mask"]
    return ["input_ids", "attention_mask", "token_type_ids"]


def id_inputs(np_or_torch, make, batch, seq, names):
    """The benchmark's inputs: the deterministic ids, mask ones, token types zeros, only those in `names`."""
    ids = make(ids_for(batch, seq)).reshape(batch, seq)
    every = {"input_ids": ids, "attention_mask": np_or_torch.ones_like(ids), "token_type_ids": np_or_torch.zeros_like(ids)}
    return {n: every[n] for n in names}


def torch_inputs(torch, batch, seq, names=("input_ids", "attention_mask", "token_type_ids")):
    return id_inputs(torch, lambda v: torch.tensor(v, dtype=torch.int64), batch, seq, names)


def numpy_inputs(np, batch, seq, names):
    return id_inputs(np, lambda v: np.array(v, dtype=np.int64), batch, seq, names)


def prepare(a):
    import torch
    from transformers import AutoModel
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    plain, opt = os.path.join(a.out, a.name + ".onnx"), os.path.join(a.out, a.name + ".opt.onnx")
    fields = {"name": a.name}
    start = time.perf_counter()
    # Eager attention: the transformer optimizer's attention fusion matches that pattern.
    model = AutoModel.from_pretrained(a.model, attn_implementation="eager").eval()
    names = input_names(model.config)
    inputs = torch_inputs(torch, 2, 16, names)
    pooled = getattr(model, "pooler", None) is not None     # DistilBERT has no pooler
    outputs = ["last_hidden_state"] + (["pooler_output"] if pooled else [])

    class Wrapped(torch.nn.Module):   # keyword arguments: the families' forward orders differ from (ids, mask, types)
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            o = self.inner(**dict(zip(names, args)))
            return (o.last_hidden_state, o.pooler_output) if pooled else o.last_hidden_state

    with torch.no_grad():
        torch.onnx.export(Wrapped(model), tuple(inputs[n] for n in names), plain,
                          input_names=names, output_names=outputs,
                          dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names},
                                        "last_hidden_state": {0: "batch", 1: "seq"}, "pooler_output": {0: "batch"}},
                          opset_version=17, dynamo=False)
    del model   # the XLM-R embedding table alone is 768 MB: free it before the optimizer loads the ONNX copy
    fields["inputs"] = names
    fields["export_ms"] = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    from onnxruntime.transformers import optimizer
    optimized = optimizer.optimize_model(plain, model_type="bert", num_heads=a.num_heads, hidden_size=a.hidden)
    optimized.save_model_to_file(opt)
    fields["ort_optimizer_ms"] = (time.perf_counter() - start) * 1e3
    fields["fused_operators"] = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    emit(fields)


def prepare_gpt2(a):
    import torch
    import transformers
    from transformers import DynamicCache
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    model = transformers.GPT2LMHeadModel.from_pretrained(a.model, attn_implementation="eager").eval()
    layers, heads = model.config.n_layer, model.config.n_head
    head_dim = model.config.n_embd // heads
    past_names = [f"past.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]

    def additive_mask(input_ids, attention_mask):
        # [batch, 1, seq, total] from tensor ops only, so that the trace keeps seq and total dynamic
        # (transformers' own mask builder turns them into constants under the TorchScript exporter).
        key = torch.cumsum(torch.ones_like(attention_mask), 1) - 1                 # 0 … total-1
        run = torch.cumsum(torch.ones_like(input_ids), 1)                           # 1 … seq
        query = run - 1 + (key[:, -1:] + 1 - run[:, -1:])                           # past … total-1
        allowed = (key[:, None, :] <= query[:, :, None]) & attention_mask.bool()[:, None, :]
        return torch.where(allowed, 0.0, torch.finfo(torch.float32).min)[:, None].to(torch.float32)

    class Step(torch.nn.Module):
        def __init__(self, inner, with_past):
            super().__init__()
            self.inner, self.with_past = inner, with_past

        def forward(self, input_ids, attention_mask, position_ids, *past):
            data = [(past[2 * i], past[2 * i + 1]) for i in range(layers)] if self.with_past else None
            cache = DynamicCache(ddp_cache_data=data, config=self.inner.config)
            o = self.inner(input_ids=input_ids, attention_mask=additive_mask(input_ids, attention_mask),
                           position_ids=position_ids, past_key_values=cache, use_cache=True)
            out = [o.logits[:, -1, :]]
            for layer in o.past_key_values.layers:
                out += [layer.keys, layer.values]
            return tuple(out)

    fields = {"fused_operators": {}}
    from onnxruntime.transformers import optimizer
    start = time.perf_counter()
    for name, with_past in (("gpt2-prefill", False), ("gpt2-decode", True)):
        ids = torch.tensor([[5, 6, 7]])
        past = [torch.randn(1, heads, 2, head_dim) for _ in range(2 * layers)] if with_past else []
        positions = torch.tensor([[2, 3, 4]] if with_past else [[0, 1, 2]])
        mask = torch.ones(1, 3 + (2 if with_past else 0), dtype=torch.int64)
        axes = {"input_ids": {1: "seq"}, "attention_mask": {1: "total"}, "position_ids": {1: "seq"},
                **{n: {2: "past"} for n in past_names[:len(past)]}, **{n: {2: "total"} for n in present_names}}
        plain = os.path.join(a.out, name + ".onnx")
        with torch.no_grad():
            torch.onnx.export(Step(model, with_past), (ids, mask, positions, *past), plain,
                              input_names=["input_ids", "attention_mask", "position_ids"] + past_names[:len(past)],
                              output_names=["logits"] + present_names, dynamic_axes=axes, opset_version=17, dynamo=False)
        optimized = optimizer.optimize_model(plain, model_type="gpt2", num_heads=heads, hidden_size=model.config.n_embd)
        optimized.save_model_to_file(os.path.join(a.out, name + ".opt.onnx"))
        fields["fused_operators"][name] = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    fields["export_and_optimize_ms"] = (time.perf_counter() - start) * 1e3
    emit(fields)


def ort_session_options(ort, threads):
    """The ORT settings of every ORT peer: `threads` intra-op threads, sequential, all graph optimizations."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return so


def ort_generator(a, fields):
    """Greedy decoding with the two optimized graphs of prepare-gpt2: a callable generating a.tokens tokens."""
    import numpy as np
    import onnxruntime as ort
    fields["onnxruntime"] = ort.__version__
    so = ort_session_options(ort, a.threads)
    start = time.perf_counter()
    prefill, decode = (ort.InferenceSession(os.path.join(a.onnx_dir, f"gpt2-{n}.opt.onnx"), so,
                                            providers=["CPUExecutionProvider"]) for n in ("prefill", "decode"))
    fields["load_ms"] = (time.perf_counter() - start) * 1e3
    past_names = [i.name for i in decode.get_inputs() if i.name.startswith("past.")]
    prompt = np.array([[i % 50257 for i in ids_for(1, a.prompt)]], dtype=np.int64)

    def generate():
        n = prompt.shape[1]
        out = prefill.run(None, {"input_ids": prompt, "attention_mask": np.ones((1, n), np.int64),
                                 "position_ids": np.arange(n, dtype=np.int64)[None]})
        tokens = [int(out[0].argmax())]
        while len(tokens) < a.tokens:
            total = n + len(tokens)
            feed = {"input_ids": np.array([[tokens[-1]]], np.int64), "attention_mask": np.ones((1, total), np.int64),
                    "position_ids": np.array([[total - 1]], np.int64), **dict(zip(past_names, out[1:]))}
            out = decode.run(None, feed)
            tokens.append(int(out[0].argmax()))
        return tokens
    return generate


def agreement(out, reference):
    """Cosine and max abs difference of two arrays (flattened, in float64)."""
    import numpy as np
    x, y = np.asarray(out, dtype=np.float64).ravel(), np.asarray(reference, dtype=np.float64).ravel()
    return {"cosine_vs_fp32": float(x @ y / max(1e-300, np.linalg.norm(x) * np.linalg.norm(y))),
            "max_abs_vs_fp32": float(np.abs(x - y).max())}


CALIBRATION_SAMPLES = 16   # openvino-int8's calibration set


def int8_model(a):
    """The quantized model that a.runtime (ort-int8, openvino-int8) loads, with how it was made (the .json beside
    it): quantized here first when it, or its .json, is missing or older than the f32 model it comes from."""
    if a.runtime == "ort-int8":
        source, path, make = (os.path.join(a.onnx_dir, a.name + ".opt.onnx"),
                              os.path.join(a.onnx_dir, a.name + ".opt.int8.onnx"), quantize_ort)
    elif a.runtime == "openvino-int8":
        source, path, make = (os.path.join(a.onnx_dir, a.name + ".onnx"),
                              os.path.join(a.onnx_dir, f"{a.name}.int8-{a.batch}x{a.seq}.xml"), quantize_openvino)
    else:
        sys.exit(f"quantize: unknown runtime {a.runtime} (ort-int8 or openvino-int8)")
    made = os.path.splitext(path)[0] + ".json"   # written last: its presence says the model is complete
    if all(os.path.exists(f) and os.path.getmtime(f) >= os.path.getmtime(source) for f in (path, made)):
        return path, dict(json.load(open(made)), quantized_now=False)
    if os.path.exists(made):
        os.remove(made)
    start = time.perf_counter()
    info = make(a, source, path)
    info["quantize_ms"] = (time.perf_counter() - start) * 1e3
    with open(made, "w") as f:
        json.dump(info, f, sort_keys=True)
    return path, dict(info, quantized_now=True)


def quantize_ort(a, source, path):
    """onnxruntime's dynamic quantization of the transformer-optimized model. The arguments are onnxruntime's
    defaults, spelled out: s8 weights with one symmetric scale per tensor (per_channel=False) over the full range
    (reduce_range=False); activations u8, their scale and zero point computed per tensor on every call. It
    quantizes MatMuls with constant weights, the fused Attention (QAttention) and EmbedLayerNormalization (its
    embedding tables in 8 bits); layer norms, GELU and softmax stay f32. DefaultTensorType: ONNX shape inference
    knows no types behind the optimizer's contrib operators; they are all float (onnxruntime.transformers'
    QuantizeHelper.quantize_onnx_model passes the same)."""
    from collections import Counter
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(source, path, weight_type=QuantType.QInt8, per_channel=False, reduce_range=False,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    operators = Counter(n.op_type for n in onnx.load(path, load_external_data=False).graph.node)
    return {"source": os.path.basename(source), "onnxruntime": onnxruntime.__version__,
            "precision": "int8 dynamic (quantize_dynamic, QInt8 weights per tensor, QUInt8 activations per tensor)",
            "operators": dict(sorted(operators.items()))}


def quantize_openvino(a, source, path):
    """NNCF's post-training quantization of the plain ONNX export (what the openvino peer compiles), with
    model_type TRANSFORMER and its defaults otherwise, calibrated on CALIBRATION_SAMPLES inputs of the workload's
    shape: random ids (seed 0), mask ones, token types zero. Saved without compressing the f32 constants to f16."""
    from collections import Counter
    import numpy as np
    import nncf
    import openvino as ov
    model = ov.Core().read_model(source)
    names = [i.any_name for i in model.inputs]
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(CALIBRATION_SAMPLES):
        ids = rng.integers(1000, 30000, size=(a.batch, a.seq), dtype=np.int64)
        every = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        samples.append({n: every[n] for n in names})
    quantized = nncf.quantize(model, nncf.Dataset(samples), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=CALIBRATION_SAMPLES)
    ov.save_model(quantized, path, compress_to_fp16=False)
    operators = Counter(op.get_type_name() for op in quantized.get_ops())
    return {"source": os.path.basename(source), "openvino": ov.__version__, "nncf": nncf.__version__,
            "precision": "int8 static (nncf.quantize, model_type TRANSFORMER)",
            "calibration": f"{CALIBRATION_SAMPLES} inputs of {a.batch}x{a.seq} random ids (seed 0)",
            "fake_quantize": operators.get("FakeQuantize", 0), "matmuls": operators.get("MatMul", 0)}


def quantize(a):
    path, info = int8_model(a)
    emit(dict(info, impl=a.runtime, model=os.path.basename(path)))


def encoder(a):
    fields = {"impl": a.runtime, "batch": a.batch, "seq": a.seq, "threads": a.threads, "reps": a.reps}
    if a.runtime in ("torch-bf16", "torch-int8"):
        import torch
        import transformers
        torch.set_num_threads(a.threads)
        fields.update(torch=torch.__version__, transformers=transformers.__version__)
        start = time.perf_counter()
        model = transformers.AutoModel.from_pretrained(a.model).eval()
        fields["load_ms"] = (time.perf_counter() - start) * 1e3
        inputs = torch_inputs(torch, a.batch, a.seq, input_names(model.config))
        if a.runtime == "torch-bf16":
            fields["precision"] = "bf16 autocast"

            def run():
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return model(**inputs).last_hidden_state
        else:
            # Every nn.Linear becomes a dynamically quantized one (a copy: `model` stays f32 for the comparison);
            # the default dynamic qconfig: qint8 weights, activations quint8 quantized per tensor on every call.
            start = time.perf_counter()
            quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            fields["quantize_ms"] = (time.perf_counter() - start) * 1e3
            linears = [m for m in quantized.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
            fields.update(precision="int8 dynamic (torch.ao.quantization.quantize_dynamic, nn.Linear, qint8 weights)",
                          quantized_engine=torch.backends.quantized.engine, quantized_linears=len(linears),
                          weight_qscheme=str(linears[0].weight().qscheme()) if linears else None)

            def run():
                return quantized(**inputs).last_hidden_state

        with torch.inference_mode():
            out = run()
            fields["first_result_unix"] = time.time()
            fields["check_mean_abs"] = float(out.float().abs().mean())
            run()
            fields.update(timed(a.reps, run))
            fields.update(agreement(out.float().numpy(), model(**inputs).last_hidden_state.numpy()))
    elif a.runtime in ("torch", "torch-compile"):
        import torch
        import transformers
        torch.set_num_threads(a.threads)
        fields.update(torch=torch.__version__, transformers=transformers.__version__)
        start = time.perf_counter()
        model = transformers.AutoModel.from_pretrained(a.model).eval()
        fields["load_ms"] = (time.perf_counter() - start) * 1e3
        inputs = torch_inputs(torch, a.batch, a.seq, input_names(model.config))
        run_model = model
        if a.runtime == "torch-compile":
            run_model = torch.compile(model, dynamic=False)
        with torch.inference_mode():
            start = time.perf_counter()
            out = run_model(**inputs).last_hidden_state
            if a.runtime == "torch-compile":
                fields["compile_ms"] = (time.perf_counter() - start) * 1e3   # includes the first call
            fields["first_result_unix"] = time.time()
            fields["check_mean_abs"] = float(out.abs().mean())
            run_model(**inputs)
            fields.update(timed(a.reps, lambda: run_model(**inputs)))
    elif a.runtime in ("ort", "ort-int8"):
        import numpy as np
        import onnxruntime as ort
        fields["onnxruntime"] = ort.__version__
        so = ort_session_options(ort, a.threads)
        f32 = os.path.join(a.onnx_dir, a.name + ".opt.onnx")
        path = f32
        if a.runtime == "ort-int8":
            path, made = int8_model(a)
            fields.update(precision=made["precision"], quantized_operators=made["operators"],
                          quantize_ms=made["quantize_ms"], quantized_now=made["quantized_now"])
        start = time.perf_counter()
        session = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        fields["compile_ms"] = (time.perf_counter() - start) * 1e3   # session creation (graph optimizations)
        feed = numpy_inputs(np, a.batch, a.seq, [i.name for i in session.get_inputs()])
        out = session.run(None, feed)[0]
        fields["first_result_unix"] = time.time()
        fields["check_mean_abs"] = float(np.abs(out).mean())
        session.run(None, feed)
        fields.update(timed(a.reps, lambda: session.run(None, feed)))
        if a.runtime == "ort-int8":   # against ONNX Runtime on the f32 model, after the timed calls
            reference = ort.InferenceSession(f32, so, providers=["CPUExecutionProvider"])
            fields.update(agreement(out, reference.run(None, feed)[0]))
    elif a.runtime in ("openvino", "openvino-bf16", "openvino-int8"):
        import numpy as np
        import openvino as ov
        fields["openvino"] = ov.__version__
        core = ov.Core()
        precision = "bf16" if a.runtime == "openvino-bf16" else "f32"
        if precision == "bf16":
            capabilities = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
            fields["cpu_capabilities"] = list(capabilities)
            if "BF16" not in capabilities:
                sys.exit(f"openvino-bf16: this CPU's OPTIMIZATION_CAPABILITIES ({', '.join(capabilities)}) lack BF16")
        path = os.path.join(a.onnx_dir, a.name + ".onnx")
        if a.runtime == "openvino-int8":   # the quantized IR; what is left in floating point runs in f32
            path, made = int8_model(a)
            fields.update({k: made[k] for k in ("precision", "nncf", "calibration", "fake_quantize", "quantize_ms",
                                                "quantized_now")})
        start = time.perf_counter()
        compiled = core.compile_model(path, "CPU",
                                      {"INFERENCE_NUM_THREADS": a.threads, "PERFORMANCE_HINT": "LATENCY",
                                       "INFERENCE_PRECISION_HINT": precision})
        fields["compile_ms"] = (time.perf_counter() - start) * 1e3
        fields["inference_precision"] = str(compiled.get_property("INFERENCE_PRECISION_HINT"))
        request = compiled.create_infer_request()
        feed = numpy_inputs(np, a.batch, a.seq, [i.any_name for i in compiled.inputs])
        out = np.array(request.infer(feed)[compiled.output(0)])
        fields["first_result_unix"] = time.time()
        fields["check_mean_abs"] = float(np.abs(out).mean())
        request.infer(feed)
        fields.update(timed(a.reps, lambda: request.infer(feed)))
        if a.runtime != "openvino":   # against OpenVINO in f32, compiled after the timed calls
            reference = core.compile_model(os.path.join(a.onnx_dir, a.name + ".onnx"), "CPU",
                                           {"INFERENCE_NUM_THREADS": a.threads, "INFERENCE_PRECISION_HINT": "f32"})
            fields.update(agreement(out, reference.create_infer_request().infer(feed)[reference.output(0)]))
    else:
        sys.exit(f"unknown runtime {a.runtime}")
    emit(fields)


def compile_time(a):
    """The peers' compile step on an ONNX export, as the compile workload times it: ONNX Runtime's session
    creation with every graph optimization on the plain export (its optimizer included), or OpenVINO's
    read + compile_model for the CPU, f32."""
    fields = {"impl": a.runtime, "threads": a.threads}
    path = os.path.join(a.onnx_dir, a.name + ".onnx")
    start = time.perf_counter()
    if a.runtime == "ort":
        import onnxruntime as ort
        fields["onnxruntime"] = ort.__version__
        ort.InferenceSession(path, ort_session_options(ort, a.threads), providers=["CPUExecutionProvider"])
    elif a.runtime == "openvino":
        import openvino as ov
        fields["openvino"] = ov.__version__
        ov.Core().compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": a.threads, "PERFORMANCE_HINT": "LATENCY",
                                              "INFERENCE_PRECISION_HINT": "f32"})
    else:
        sys.exit(f"unknown runtime {a.runtime}")
    fields["compile_ms"] = (time.perf_counter() - start) * 1e3
    emit(fields)


def gpt2(a):
    if a.runtime == "ort":
        fields = {"impl": "ort", "threads": a.threads, "reps": a.reps, "tokens": a.tokens, "prompt": a.prompt}
        generate = ort_generator(a, fields)
        tokens = generate()
        fields["first_result_unix"] = time.time()
        fields["generated"] = len(tokens)
        fields["check_tokens"] = tokens[:8]
        fields.update(timed(a.reps, generate))
        fields["tokens_per_s"] = a.tokens / (fields["median_ms"] / 1e3)
        emit(fields)
        return
    import torch
    import transformers
    torch.set_num_threads(a.threads)
    start = time.perf_counter()
    model = transformers.GPT2LMHeadModel.from_pretrained(a.model).eval()
    fields = {"impl": "torch", "threads": a.threads, "reps": a.reps, "tokens": a.tokens, "prompt": a.prompt,
              "load_ms": (time.perf_counter() - start) * 1e3, "torch": torch.__version__}
    prompt = torch.tensor([[i % 50257 for i in ids_for(1, a.prompt)]])
    kwargs = dict(attention_mask=torch.ones_like(prompt), do_sample=False, use_cache=True, pad_token_id=50256,
                  eos_token_id=None, max_new_tokens=a.tokens, min_new_tokens=a.tokens)
    with torch.inference_mode():
        out = model.generate(prompt, **kwargs)
        fields["first_result_unix"] = time.time()
        fields["generated"] = out.shape[1] - a.prompt
        fields["check_tokens"] = out[0, a.prompt:a.prompt + 8].tolist()
        fields.update(timed(a.reps, lambda: model.generate(prompt, **kwargs)))
    fields["tokens_per_s"] = a.tokens / (fields["median_ms"] / 1e3)
    emit(fields)


def coldstart(a):
    import torch
    import transformers
    torch.set_num_threads(a.threads)
    tokenizer = transformers.AutoTokenizer.from_pretrained(a.model)
    cls = transformers.AutoModelForSequenceClassification if a.classifier else transformers.AutoModel
    model = cls.from_pretrained(a.model).eval()
    with torch.inference_mode():
        out = model(**tokenizer(a.text, return_tensors="pt"))
    if a.classifier:
        label = model.config.id2label[int(out.logits.argmax())]
        print(f"{label} (logits {' '.join(f'{v:.3f}' for v in out.logits[0].tolist())})")
    else:
        print("embedding[0..3] = " + " ".join(f"{v:.4f}" for v in out.last_hidden_state[0].mean(0)[:4].tolist()))


def random_checkpoint(a):
    import torch
    import transformers
    torch.manual_seed(0)
    if a.arch == "bert-base":
        model = transformers.BertModel(transformers.BertConfig())          # 12 layers, 768 hidden, 110M
    elif a.arch == "distilbert":
        # distilbert-base-uncased's sizes (the config's defaults): 6 layers, dim 768, 12 heads, 3072, vocab 30522; 66M
        model = transformers.DistilBertModel(transformers.DistilBertConfig(
            n_layers=6, dim=768, n_heads=12, hidden_dim=3072, vocab_size=30522))
    elif a.arch == "xlm-roberta":
        # xlm-roberta-base's sizes: 12 layers, 768 hidden, vocab 250002 (a 768 MB fp32 embedding table), 278M
        model = transformers.XLMRobertaModel(transformers.XLMRobertaConfig(
            num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072, vocab_size=250002,
            max_position_embeddings=514, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
            layer_norm_eps=1e-5))
    else:
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config())    # 12 layers, 768 hidden, 124M
    model.save_pretrained(a.out)
    print(json.dumps({"arch": a.arch, "parameters": sum(p.numel() for p in model.parameters())}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["prepare", "prepare-gpt2", "encoder", "quantize", "gpt2", "coldstart", "random-checkpoint",
                                       "compile"])
    p.add_argument("--runtime", default="torch")
    p.add_argument("--model")
    p.add_argument("--onnx-dir")
    p.add_argument("--name")
    p.add_argument("--out")
    p.add_argument("--arch")
    p.add_argument("--num-heads", type=int, default=12)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--prompt", type=int, default=8)
    p.add_argument("--text")
    p.add_argument("--classifier", action="store_true")
    a = p.parse_args()
    {"prepare": prepare, "prepare-gpt2": prepare_gpt2, "encoder": encoder, "quantize": quantize, "gpt2": gpt2,
     "coldstart": coldstart, "random-checkpoint": random_checkpoint, "compile": compile_time}[a.command](a)


if __name__ == "__main__":
    main()
