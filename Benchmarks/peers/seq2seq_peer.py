#!/usr/bin/env python3
"""The peers of the seq2seq workload of Benchmarks/run-all.sh (driven by Benchmarks/bench_seq2seq.py).

  seq2seq_peer.py random-checkpoint --arch t5small|bartbase --out DIR
      a float32 encoder-decoder with random weights at the real model's sizes (t5-small: T5 v1.0, ReLU, tied
      head; bart-base), made by transformers, with a WordLevel tokenizer of its vocabulary size (the model's
      special tokens at their ids, t4, t5, … elsewhere: CTranslate2's converter reads a vocabulary; no text is
      ever tokenized). forced_bos/forced_eos are cleared so that every runtime generates the same way.
  seq2seq_peer.py prepare-ort --model DIR --out DIR
      our own torch.onnx export: encoder.onnx (ids, mask → hidden states), decoder_init.onnx (the first step:
      the start token and the encoder states → logits, the self-attention cache and the cross-attention keys
      and values) and decoder_with_past.onnx (one token, the cache of `past` positions and the cross keys and
      values → logits and the cache one longer); each is checked against transformers at a past length the
      export never saw
  seq2seq_peer.py prepare-ct2 --model DIR --out DIR --quantization float32|int8      CTranslate2's converter
  seq2seq_peer.py run --runtime torch|ort|ct2|ct2_int8 --model DIR [--artifact PATH] --beams 1|4 --source 128
                      --tokens 64 --reps N --threads T
      exactly --tokens new tokens (min_new_tokens = max_new_tokens: EOS masked on every step) from one source
      of --source fixed ids, greedy or beam search (length_penalty 1, no n-gram blocking); prints one JSON line
      with first_token_ms (median time to the first token: encoder + first decoder step), total_ms (median time
      of all tokens), tokens_per_s = tokens / total and decode_tokens_per_s = (tokens − 1) / (total − first)
"""
import argparse
import json
import os
import sys
import time

from generation_common import drop_openblas_overrides, emit, load_torch, median_ms

SIZES = {
    # t5-small (google-t5/t5-small config.json): T5 v1.0, 6 + 6 layers, d_model 512, 8 heads × 64, ReLU, tied head
    "t5small": dict(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_decoder_layers=6, num_heads=8,
                    relative_attention_num_buckets=32, relative_attention_max_distance=128, feed_forward_proj="relu",
                    tie_word_embeddings=True, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0),
    # bart-base (facebook/bart-base config.json): 6 + 6 layers, d_model 768, 12 heads, FFN 3072, post-norm
    "bartbase": dict(vocab_size=50265, d_model=768, encoder_layers=6, decoder_layers=6, encoder_attention_heads=12,
                     decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072, max_position_embeddings=1024,
                     activation_function="gelu", scale_embedding=False, bos_token_id=0, pad_token_id=1, eos_token_id=2,
                     decoder_start_token_id=2, forced_bos_token_id=None, forced_eos_token_id=None,
                     # bart-base's config.json has these (post-norm); transformers 5 no longer defines them, CTranslate2 reads them
                     normalize_before=False, add_final_layer_norm=False, normalize_embedding=True),
}
SPECIALS = {"t5small": {0: "<pad>", 1: "</s>", 2: "<unk>"}, "bartbase": {0: "<s>", 1: "<pad>", 2: "</s>", 3: "<unk>"}}


def source_ids(length, vocab):
    """The source every runtime gets (Seq2SeqBench makes the same): no special token (ids ≥ 4)."""
    return [4 + (1000 + 7919 * i) % (min(vocab, 30000) - 4) for i in range(length)]


def random_checkpoint(a):
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers
    torch.manual_seed(0)
    with torch.no_grad():
        if a.arch == "t5small":
            config = transformers.T5Config(**SIZES[a.arch])
            model = transformers.T5ForConditionalGeneration(config)
        else:
            config = transformers.BartConfig(**SIZES[a.arch])
            model = transformers.BartForConditionalGeneration(config)
            # With transformers' init the residual stream carries the input token's embedding through every layer and
            # the tied head picks that token again at every step; a tenth of it lets the layers choose, so the 64
            # tokens differ and comparing them across runtimes means something. (T5 keeps its init: it repeats one
            # token either way.)
            model.model.shared.weight.mul_(0.1)
    model.eval()
    model.save_pretrained(a.out)
    specials = SPECIALS[a.arch]
    vocab = {specials.get(i, f"t{i}"): i for i in range(config.vocab_size)}
    unk = "<unk>"
    tok = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    named = {"unk_token": unk, "pad_token": "<pad>", "eos_token": "</s>"}
    if a.arch == "bartbase":
        named["bos_token"] = "<s>"
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, **named).save_pretrained(a.out)
    emit({"arch": a.arch, "parameters": sum(p.numel() for p in model.parameters())})


def prepare_ort(a):
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    from transformers import DynamicCache, EncoderDecoderCache
    from transformers.modeling_outputs import BaseModelOutput
    drop_openblas_overrides()
    os.makedirs(a.out, exist_ok=True)
    model = load_torch(a.model, a.threads, "AutoModelForSeq2SeqLM")
    c = model.config
    layers = c.num_decoder_layers if c.model_type == "t5" else c.decoder_layers
    heads = c.num_heads if c.model_type == "t5" else c.decoder_attention_heads
    head_dim = c.d_kv if c.model_type == "t5" else c.d_model // heads
    self_past = [f"past.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    cross = [f"cross.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    class Decoder(torch.nn.Module):
        def __init__(self, inner, with_past):
            super().__init__()
            self.inner, self.with_past = inner, with_past

        def forward(self, decoder_input_ids, encoder_attention_mask, *rest):
            if self.with_past:
                data = [(rest[2 * i], rest[2 * i + 1]) for i in range(layers)]
                cross_data = [(rest[2 * layers + 2 * i], rest[2 * layers + 2 * i + 1]) for i in range(layers)]
                cache = EncoderDecoderCache(DynamicCache(ddp_cache_data=data), DynamicCache(ddp_cache_data=cross_data))
                # Only its shape is read: the cross keys and values come from the cache.
                hidden = torch.zeros(decoder_input_ids.shape[0], encoder_attention_mask.shape[1], c.d_model)
            else:
                cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
                hidden = rest[0]
            o = self.inner(encoder_outputs=BaseModelOutput(last_hidden_state=hidden), attention_mask=encoder_attention_mask,
                           decoder_input_ids=decoder_input_ids, past_key_values=cache, use_cache=True)
            out = [o.logits[:, -1, :]]
            for layer in o.past_key_values.self_attention_cache.layers:
                out += [layer.keys, layer.values]
            if not self.with_past:
                for layer in o.past_key_values.cross_attention_cache.layers:
                    out += [layer.keys, layer.values]
            return tuple(out)

    def save(folder_name, module, args, inputs, outputs, axes):
        folder = os.path.join(a.out, folder_name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "model.onnx")
        with torch.no_grad():
            torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes,
                              opset_version=17, dynamo=False)
        proto = onnx.load(path)
        onnx.save_model(proto, path, save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin")
        return path

    start = time.perf_counter()
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    mask = torch.ones_like(ids)
    batch_src = {0: "batch", 1: "source"}
    save("encoder", Encoder(model), (ids, mask), ["input_ids", "attention_mask"], ["hidden"],
         {"input_ids": batch_src, "attention_mask": batch_src, "hidden": batch_src})
    hidden = torch.randn(1, 5, c.d_model)
    start_ids = torch.tensor([[c.decoder_start_token_id]])
    kv_axes = {n: {0: "batch", 2: "total"} for n in present}
    save("decoder_init", Decoder(model, False), (start_ids, mask, hidden),
         ["decoder_input_ids", "encoder_attention_mask", "encoder_hidden_states"], ["logits"] + present + cross,
         {"decoder_input_ids": {0: "batch"}, "encoder_attention_mask": batch_src, "encoder_hidden_states": batch_src,
          "logits": {0: "batch"}, **kv_axes, **{n: {0: "batch", 2: "source"} for n in cross}})
    past = [torch.randn(1, heads, 2, head_dim) for _ in self_past] + [torch.randn(1, heads, 5, head_dim) for _ in cross]
    save("decoder_with_past", Decoder(model, True), (torch.tensor([[9]]), mask, *past),
         ["decoder_input_ids", "encoder_attention_mask"] + self_past + cross, ["logits"] + present,
         {"decoder_input_ids": {0: "batch"}, "encoder_attention_mask": batch_src, "logits": {0: "batch"}, **kv_axes,
          **{n: {0: "batch", 2: "past"} for n in self_past}, **{n: {0: "batch", 2: "source"} for n in cross}})
    export_ms = (time.perf_counter() - start) * 1e3
    del model
    emit({"export_ms": export_ms, "max_abs_diff_vs_torch": check_ort(a)})


def check_ort(a):
    """The exported graphs against transformers (a fresh model: tracing leaves state behind in the exported
    one) at sizes the export never saw: batch 2, sources of 9 and 7 tokens, 7 decoder tokens."""
    import numpy as np
    import torch
    model = load_torch(a.model, a.threads, "AutoModelForSeq2SeqLM")
    c = model.config
    sessions = ort_sessions(a.out, a.threads)
    torch.manual_seed(1)
    src = torch.randint(4, 1000, (2, 9))
    src_mask = torch.ones_like(src)
    src_mask[1, 7:] = 0
    target = torch.cat([torch.full((2, 1), c.decoder_start_token_id), torch.randint(4, 1000, (2, 6))], 1)
    with torch.no_grad():
        want = model(input_ids=src, attention_mask=src_mask, decoder_input_ids=target).logits
    got = ort_logits(sessions, src.numpy(), src_mask.numpy(), target.numpy())
    diff = float(np.abs(got - want.numpy()).max())
    if diff > 1e-3:
        sys.exit(f"prepare-ort: the exported graphs differ from transformers by {diff:.3g} (max abs logits) > 1e-3")
    return diff


def ort_sessions(folder, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return {n: ort.InferenceSession(os.path.join(folder, n, "model.onnx"), so, providers=["CPUExecutionProvider"])
            for n in ("encoder", "decoder_init", "decoder_with_past")}


class OrtSeq2Seq:
    """Encoder once, the first step, then one token at a time against the cache (ORT sessions)."""

    def __init__(self, sessions):
        self.s = sessions
        outputs = [o.name for o in sessions["decoder_init"].get_outputs()]
        self.layers = sum(1 for n in outputs if n.startswith("present.")) // 2

    def encode(self, ids, mask):
        hidden = self.s["encoder"].run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return hidden

    def first(self, start_ids, hidden, mask):
        out = self.s["decoder_init"].run(None, {"decoder_input_ids": start_ids, "encoder_attention_mask": mask,
                                                "encoder_hidden_states": hidden})
        n = 2 * self.layers
        return out[0], out[1:1 + n], out[1 + n:]

    def step(self, token_ids, mask, past, cross):
        feed = {"decoder_input_ids": token_ids, "encoder_attention_mask": mask}
        feed.update({f"past.{i // 2}.{('key', 'value')[i % 2]}": t for i, t in enumerate(past)})
        feed.update({f"cross.{i // 2}.{('key', 'value')[i % 2]}": t for i, t in enumerate(cross)})
        out = self.s["decoder_with_past"].run(None, feed)
        return out[0], out[1:]


def ort_logits(sessions, src, mask, target):
    """Teacher-forced last-position logits of every target prefix, [batch, len, vocab] (the export check)."""
    import numpy as np
    m = OrtSeq2Seq(sessions)
    hidden = m.encode(src, mask)
    logits, past, cross = m.first(target[:, :1], hidden, mask)
    rows = [logits]
    for t in range(1, target.shape[1]):
        logits, past = m.step(target[:, t:t + 1], mask, past, cross)
        rows.append(logits)
    return np.stack(rows, 1)


def prepare_ct2(a):
    import ctranslate2
    start = time.perf_counter()
    ctranslate2.converters.TransformersConverter(a.model).convert(a.out, quantization=a.quantization, force=True)
    emit({"ctranslate2": ctranslate2.__version__, "convert_ms": (time.perf_counter() - start) * 1e3})


def log_softmax(x):
    import numpy as np
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))




def run(a):
    drop_openblas_overrides()
    with open(os.path.join(a.model, "config.json")) as f:
        config = json.load(f)
    vocab, eos, start_id = config["vocab_size"], config["eos_token_id"], config["decoder_start_token_id"]
    source = source_ids(a.source, vocab)
    fields = {"impl": a.runtime, "threads": a.threads, "reps": a.reps, "tokens": a.tokens, "source": a.source, "beams": a.beams}
    start = time.perf_counter()
    if a.runtime == "torch":
        import torch
        import transformers
        model = load_torch(a.model, a.threads, "AutoModelForSeq2SeqLM")
        fields.update(torch=torch.__version__, transformers=transformers.__version__)
        ids = torch.tensor([source])

        def generate(n):
            with torch.inference_mode():
                out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, num_beams=a.beams, use_cache=True,
                                     max_new_tokens=n, min_new_tokens=n, length_penalty=1.0, early_stopping=False,
                                     no_repeat_ngram_size=0, repetition_penalty=1.0, forced_bos_token_id=None,
                                     forced_eos_token_id=None, num_return_sequences=1)
            return out[0, 1:].tolist()   # without the decoder start token
    elif a.runtime == "ort":
        import numpy as np
        import onnxruntime as ort
        fields["onnxruntime"] = ort.__version__
        m = OrtSeq2Seq(ort_sessions(a.artifact, a.threads))
        src = np.array([source], np.int64)
        src_mask = np.ones_like(src)
        k = a.beams

        def generate(n):
            # HF's semantics: log-softmax, then the min-new-tokens processor masks EOS (greedy: the argmax of that);
            # beams start from one live beam, keep the top k of beams × vocabulary, and the best sum of log-probs
            # wins (every hypothesis has n tokens: no length penalty difference). Bookkeeping in NumPy.
            hidden = m.encode(src, src_mask)
            if k > 1:
                hidden = np.repeat(hidden, k, 0)
            mask = np.repeat(src_mask, k, 0)
            logits, past, cross = m.first(np.full((k, 1), start_id, np.int64), hidden, mask)
            scores = np.full(k, -1e9, np.float32)
            scores[0] = 0
            history = np.zeros((k, 0), np.int64)
            while True:
                logp = log_softmax(logits.astype(np.float32))
                logp[:, eos] = -np.inf
                if k == 1:
                    chosen, parents = logp.argmax(-1), np.zeros(1, np.int64)
                else:
                    flat = (scores[:, None] + logp).reshape(-1)
                    top = np.argpartition(-flat, 2 * k)[:2 * k]
                    top = top[np.argsort(-flat[top], kind="stable")][:k]
                    parents, chosen = top // logp.shape[1], top % logp.shape[1]
                    scores = flat[top]
                    past = [p[parents] for p in past]
                history = np.concatenate([history[parents], chosen[:, None]], 1)
                if history.shape[1] == n:
                    return history[0].tolist()
                logits, past = m.step(chosen[:, None].astype(np.int64), mask, past, cross)
    elif a.runtime in ("ct2", "ct2_int8"):
        import ctranslate2
        fields["ctranslate2"] = ctranslate2.__version__
        translator = ctranslate2.Translator(a.artifact, device="cpu", compute_type="int8" if a.runtime == "ct2_int8" else "float32",
                                            intra_threads=a.threads, inter_threads=1)
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(a.model)
        source_tokens = tokenizer.convert_ids_to_tokens(source)

        def generate(n):
            result = translator.translate_batch([source_tokens], beam_size=a.beams, min_decoding_length=n, max_decoding_length=n,
                                                length_penalty=1.0, no_repeat_ngram_size=0, return_scores=False)
            return tokenizer.convert_tokens_to_ids(result[0].hypotheses[0])
    else:
        sys.exit(f"unknown runtime {a.runtime}")
    fields["load_ms"] = (time.perf_counter() - start) * 1e3
    tokens = generate(min(a.tokens, 8))   # warm-up, and the tokens compared across runtimes
    fields["first_result_unix"] = time.time()
    fields["check_tokens"] = tokens[:8]
    fields["first_token_ms"] = median_ms(a.reps, lambda: generate(1))
    full = []
    fields["total_ms"] = median_ms(a.reps, lambda: full.__setitem__(slice(None), generate(a.tokens)))
    fields["generated"] = len(full)
    fields["all_tokens"] = full
    fields["tokens_per_s"] = a.tokens / (fields["total_ms"] / 1e3)
    fields["decode_tokens_per_s"] = (a.tokens - 1) / ((fields["total_ms"] - fields["first_token_ms"]) / 1e3)
    emit(fields)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["random-checkpoint", "prepare-ort", "prepare-ct2", "run"])
    p.add_argument("--arch", choices=list(SIZES))
    p.add_argument("--model")
    p.add_argument("--out")
    p.add_argument("--artifact")
    p.add_argument("--quantization", default="float32", choices=["float32", "int8"])
    p.add_argument("--runtime")
    p.add_argument("--beams", type=int, default=1)
    p.add_argument("--source", type=int, default=128)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    {"random-checkpoint": random_checkpoint, "prepare-ort": prepare_ort, "prepare-ct2": prepare_ct2, "run": run}[a.command](a)


if __name__ == "__main__":
    main()
