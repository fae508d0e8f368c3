#!/usr/bin/env python3
"""The peers of the decode workload of Benchmarks/run-all.sh (driven by Benchmarks/bench_decode.py).

  decode_peer.py random-checkpoint --arch smollm2|tinyllama|gpt2 --out DIR
      a float32 checkpoint with random weights at the real model's sizes (SmolLM2-135M, TinyLlama-1.1B,
      GPT-2 small) and a WordLevel tokenizer of its vocabulary size (tokens t0, t1, …: the converters of
      CTranslate2 and llama.cpp read a vocabulary; no text is ever tokenized)
  decode_peer.py prepare-ort --model DIR --out DIR
      our own torch.onnx wrapper: prefill.onnx (ids, mask, positions → last logits and the cache) and
      decode.onnx (one token and the cache of `past` positions → logits and the cache one longer), weights
      as external data; for GPT-2 also ORT's transformer optimizer (model_type gpt2)
  decode_peer.py prepare-ct2 --model DIR --out DIR      CTranslate2's converter, float32
  decode_peer.py prepare-gguf --model DIR --out FILE --convert-script PATH
      llama.cpp's convert_hf_to_gguf.py (from the llama-cpp-python source distribution), f32; the random
      tokenizer has no known pre-tokenizer hash, so its check is answered with the GPT-2 pre-tokenizer
  decode_peer.py run --runtime torch|ort|ct2|ct2-int8|llamacpp --model DIR [--artifact PATH] --prompt 128 --tokens 128 --reps N --threads T
      greedy decoding of --tokens tokens after a --prompt token prompt, batch 1, no EOS; prints one JSON
      line with prefill_ms (median time to the first token), total_ms (median time of all tokens) and
      decode_tokens_per_s = (tokens − 1) / (total − prefill)
"""
import argparse
import json
import os
import sys
import time

from generation_common import drop_openblas_overrides, emit, load_torch, median_ms

SIZES = {
    # SmolLM2-135M (HuggingFaceTB/SmolLM2-135M config.json): tied embeddings, GQA 9/3
    "smollm2": dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                    num_key_value_heads=3, max_position_embeddings=8192, rope_theta=100000.0, rms_norm_eps=1e-5,
                    tie_word_embeddings=True, bos_token_id=0, eos_token_id=0),
    # TinyLlama-1.1B (TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json): untied head, GQA 32/4
    "tinyllama": dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                      num_key_value_heads=4, max_position_embeddings=2048, rope_theta=10000.0, rms_norm_eps=1e-5,
                      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2),
}


def ids_for(prompt, vocab):
    """The prompt every runtime gets (DecodeBench makes the same)."""
    return [(1000 + 7919 * i) % min(vocab, 30000) for i in range(prompt)]


def random_checkpoint(a):
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers
    torch.manual_seed(0)
    if a.arch == "gpt2":
        config = transformers.GPT2Config()                       # 12 layers, 768 hidden, 124M
        model = transformers.GPT2LMHeadModel(config)
        vocab, eos = config.vocab_size, config.eos_token_id
    else:
        config = transformers.LlamaConfig(**SIZES[a.arch])
        with torch.no_grad():
            model = transformers.LlamaForCausalLM(config)
        vocab, eos = config.vocab_size, config.eos_token_id
    model.eval()
    model.save_pretrained(a.out)
    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(vocab)}, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="t0", bos_token=f"t{config.bos_token_id}",
                                                eos_token=f"t{eos}")
    fast.save_pretrained(a.out)
    emit({"arch": a.arch, "parameters": sum(p.numel() for p in model.parameters())})


def prepare_ort(a):
    import torch
    from transformers import DynamicCache
    drop_openblas_overrides()
    os.makedirs(a.out, exist_ok=True)
    model = load_torch(a.model, a.threads, "AutoModelForCausalLM")
    c = model.config
    layers = c.num_hidden_layers
    kv_heads = getattr(c, "num_key_value_heads", None) or c.num_attention_heads
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    past_names = [f"past.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]

    def additive_mask(input_ids, attention_mask):
        # [batch, 1, seq, total] from tensor ops only, so that the trace keeps seq and total dynamic.
        key = torch.cumsum(torch.ones_like(attention_mask), 1) - 1
        run = torch.cumsum(torch.ones_like(input_ids), 1)
        query = run - 1 + (key[:, -1:] + 1 - run[:, -1:])
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
                           position_ids=position_ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
            out = [o.logits[:, -1, :]]
            for layer in o.past_key_values.layers:
                out += [layer.keys, layer.values]
            return tuple(out)

    fields = {"fused_operators": {}}
    start = time.perf_counter()
    for name, with_past in (("prefill", False), ("decode", True)):
        ids = torch.tensor([[5, 6, 7]])
        past = [torch.randn(1, kv_heads, 2, head_dim) for _ in range(2 * layers)] if with_past else []
        positions = torch.tensor([[2, 3, 4]] if with_past else [[0, 1, 2]])
        mask = torch.ones(1, 3 + (2 if with_past else 0), dtype=torch.int64)
        axes = {"input_ids": {1: "seq"}, "attention_mask": {1: "total"}, "position_ids": {1: "seq"},
                **{n: {2: "past"} for n in past_names[:len(past)]}, **{n: {2: "total"} for n in present_names}}
        folder = os.path.join(a.out, name)
        os.makedirs(folder, exist_ok=True)
        plain = os.path.join(folder, "model.onnx")
        with torch.no_grad():
            torch.onnx.export(Step(model, with_past), (ids, mask, positions, *past), plain,
                              input_names=["input_ids", "attention_mask", "position_ids"] + past_names[:len(past)],
                              output_names=["logits"] + present_names, dynamic_axes=axes, opset_version=17, dynamo=False)
        import onnx
        proto = onnx.load(plain)   # external data, one file per graph (the 2 GB protobuf limit)
        onnx.save_model(proto, plain, save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin")
        del proto
        if c.model_type == "gpt2":
            from onnxruntime.transformers import optimizer
            optimized = optimizer.optimize_model(plain, model_type="gpt2", num_heads=c.num_attention_heads, hidden_size=c.hidden_size)
            optimized.save_model_to_file(os.path.join(folder, "opt.onnx"), use_external_data_format=True)
            fields["fused_operators"][name] = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    fields["export_ms"] = (time.perf_counter() - start) * 1e3
    emit(fields)


def prepare_ct2(a):
    import ctranslate2
    start = time.perf_counter()
    ctranslate2.converters.TransformersConverter(a.model).convert(a.out, quantization="float32", force=True)
    emit({"ctranslate2": ctranslate2.__version__, "convert_ms": (time.perf_counter() - start) * 1e3})


def prepare_gguf(a):
    import importlib.util
    script = os.path.abspath(a.convert_script)
    sys.path.insert(0, os.path.join(os.path.dirname(script), "gguf-py"))
    sys.path.insert(0, os.path.dirname(script))   # its `conversion` package
    spec = importlib.util.spec_from_file_location("convert_hf_to_gguf", script)
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    # The random checkpoint's WordLevel tokenizer has no pre-tokenizer hash the script knows.
    import conversion.base as conversion_base   # where the model classes live in newer llama.cpp
    for holder in (convert, conversion_base):
        for name in ("TextModel", "Model"):
            if hasattr(holder, name):
                getattr(holder, name).get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
    # Its GPT-2 reader wants the legacy `n_ctx`, which transformers 5 no longer saves: a view of the
    # checkpoint (links to its files) with n_ctx = n_positions in config.json.
    import tempfile
    view = tempfile.mkdtemp()
    for name in os.listdir(a.model):
        if name not in ("config.json", "tokenizer.json"):
            os.symlink(os.path.abspath(os.path.join(a.model, name)), os.path.join(view, name))
    # llama.cpp loads a GPT-2-style vocabulary only with BPE merges: the same ids as a BPE model whose
    # tokens 3, 4, 5 (no special token's) are "a", "b" and their one merge "ab".
    from tokenizers import Tokenizer, models, pre_tokenizers
    with open(os.path.join(a.model, "tokenizer.json")) as f:
        size = len(json.load(f)["model"]["vocab"])
    vocab = {f"t{i}": i for i in range(size) if i not in (3, 4, 5)}
    vocab.update({"a": 3, "b": 4, "ab": 5})
    bpe = Tokenizer(models.BPE(vocab, [("a", "b")], unk_token="t0"))
    bpe.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    bpe.save(os.path.join(view, "tokenizer.json"))
    with open(os.path.join(a.model, "config.json")) as f:
        config = json.load(f)
    if config.get("model_type") == "gpt2":
        config.setdefault("n_ctx", config["n_positions"])
    with open(os.path.join(view, "config.json"), "w") as f:
        json.dump(config, f)
    start = time.perf_counter()
    sys.argv = [script, view, "--outtype", "f32", "--outfile", a.out]
    convert.main()
    emit({"convert_ms": (time.perf_counter() - start) * 1e3})




def run(a):
    drop_openblas_overrides()
    with open(os.path.join(a.model, "config.json")) as f:
        config = json.load(f)
    vocab = config["vocab_size"]
    prompt = ids_for(a.prompt, vocab)
    fields = {"impl": a.runtime, "threads": a.threads, "reps": a.reps, "tokens": a.tokens, "prompt": a.prompt}
    start = time.perf_counter()
    if a.runtime == "torch":
        import torch
        import transformers
        model = load_torch(a.model, a.threads, "AutoModelForCausalLM")
        fields.update(torch=torch.__version__, transformers=transformers.__version__)
        ids = torch.tensor([prompt])

        def generate(n):
            with torch.inference_mode():
                out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, use_cache=True, eos_token_id=None,
                                     pad_token_id=0, max_new_tokens=n, min_new_tokens=n)
            return out[0, a.prompt:].tolist()
    elif a.runtime == "ort":
        import numpy as np
        import onnxruntime as ort
        fields["onnxruntime"] = ort.__version__
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        name = "opt.onnx" if config["model_type"] == "gpt2" else "model.onnx"
        prefill, decode = (ort.InferenceSession(os.path.join(a.artifact, n, name), so, providers=["CPUExecutionProvider"])
                           for n in ("prefill", "decode"))
        past_names = [i.name for i in decode.get_inputs() if i.name.startswith("past.")]
        start_ids = np.array([prompt], dtype=np.int64)

        def generate(n):
            count = start_ids.shape[1]
            out = prefill.run(None, {"input_ids": start_ids, "attention_mask": np.ones((1, count), np.int64),
                                     "position_ids": np.arange(count, dtype=np.int64)[None]})
            tokens = [int(out[0].argmax())]
            while len(tokens) < n:
                total = count + len(tokens)
                out = decode.run(None, {"input_ids": np.array([[tokens[-1]]], np.int64), "attention_mask": np.ones((1, total), np.int64),
                                        "position_ids": np.array([[total - 1]], np.int64), **dict(zip(past_names, out[1:]))})
                tokens.append(int(out[0].argmax()))
            return tokens
    elif a.runtime in ("ct2", "ct2-int8"):
        import ctranslate2
        fields["ctranslate2"] = ctranslate2.__version__
        # ct2-int8: the same float32 model quantized to int8 weights when loaded (CTranslate2's `int8` compute type:
        # per-row weight scales, activations quantized on the fly); bfloat16 is not among this CPU's compute types.
        compute_type = "int8" if a.runtime == "ct2-int8" else "float32"
        fields["compute_type"] = compute_type
        generator = ctranslate2.Generator(a.artifact, device="cpu", compute_type=compute_type, intra_threads=a.threads, inter_threads=1)
        from transformers import AutoTokenizer
        start_tokens = AutoTokenizer.from_pretrained(a.model).convert_ids_to_tokens(prompt)

        def generate(n):
            result = generator.generate_batch([start_tokens], max_length=n, min_length=n, sampling_topk=1,
                                              include_prompt_in_result=False, return_scores=False)
            return result[0].sequences_ids[0]
    elif a.runtime == "llamacpp":
        import llama_cpp
        fields["llama_cpp_python"] = llama_cpp.__version__
        llm = llama_cpp.Llama(model_path=a.artifact, n_ctx=a.prompt + a.tokens + 8, n_batch=a.prompt, n_threads=a.threads,
                              n_threads_batch=a.threads, verbose=False)

        def generate(n):
            tokens = []
            llm.reset()   # else generate reuses the cached prompt (a common prefix) and skips the prefill
            for token in llm.generate(prompt, top_k=1, temp=0.0, reset=True):
                tokens.append(token)
                if len(tokens) == n:
                    break
            return tokens
    else:
        sys.exit(f"unknown runtime {a.runtime}")
    fields["load_ms"] = (time.perf_counter() - start) * 1e3
    tokens = generate(min(a.tokens, 8))   # warm-up, and the tokens compared across runtimes
    fields["first_result_unix"] = time.time()
    fields["generated"] = len(tokens)
    fields["check_tokens"] = tokens[:8]
    fields["prefill_ms"] = median_ms(a.reps, lambda: generate(1))
    fields["total_ms"] = median_ms(a.reps, lambda: generate(a.tokens))
    fields["decode_tokens_per_s"] = (a.tokens - 1) / ((fields["total_ms"] - fields["prefill_ms"]) / 1e3)
    emit(fields)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["random-checkpoint", "prepare-ort", "prepare-ct2", "prepare-gguf", "run"])
    p.add_argument("--arch")
    p.add_argument("--model")
    p.add_argument("--out")
    p.add_argument("--artifact")
    p.add_argument("--convert-script")
    p.add_argument("--runtime")
    p.add_argument("--prompt", type=int, default=128)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    {"random-checkpoint": random_checkpoint, "prepare-ort": prepare_ort, "prepare-ct2": prepare_ct2,
     "prepare-gguf": prepare_gguf, "run": run}[a.command](a)


if __name__ == "__main__":
    main()
