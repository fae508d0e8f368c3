#!/usr/bin/env python3
"""PyTorch eager peer of samples/transformers-bench: all-MiniLM-L6-v2 forward at 1x128 and 8x128 and
GPT-2 small (124M config, random init) greedy generation of 64 tokens with the KV cache. Prints JSON.

Run:  "$(Benchmarks/peers/python.sh)" Benchmarks/peers/transformers_peer.py --threads 2 [--runs N]
"""
import argparse
import json
import os
import sys
import time

# Our own process only: these OpenBLAS tuning variables would not apply to torch's MKL/OpenMP anyway,
# and we want torch's defaults.
for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(var, None)

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import BertModel, GPT2Config, GPT2LMHeadModel  # noqa: E402


def summary(samples):
    s = sorted(samples)
    return {"median_ms": s[len(s) // 2] * 1000, "min_ms": s[0] * 1000, "max_ms": s[-1] * 1000}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--model-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", ".models", "all-MiniLM-L6-v2"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {"runtime": "pytorch-eager", "torch": torch.__version__, "transformers": transformers.__version__,
               "threads": args.threads}

    with torch.inference_mode():
        model = BertModel.from_pretrained(args.model_dir).eval()
        for batch in (1, 8):
            g = torch.Generator().manual_seed(1)
            ids = torch.randint(1000, 30000, (batch, 128), generator=g)
            inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
            model(**inputs)
            samples = []
            for _ in range(args.runs):
                t = time.perf_counter()
                model(**inputs)
                samples.append(time.perf_counter() - t)
            results[f"minilm_{batch}x128"] = summary(samples)

        torch.manual_seed(0)
        gpt2 = GPT2LMHeadModel(GPT2Config()).eval()
        prompt = torch.randint(0, 50257, (1, 8), generator=torch.Generator().manual_seed(2))
        kwargs = dict(attention_mask=torch.ones_like(prompt), do_sample=False, use_cache=True,
                      pad_token_id=50256, eos_token_id=None)
        gpt2.generate(prompt, max_new_tokens=4, **kwargs)
        samples, tokens = [], 0
        for _ in range(max(1, args.runs // 3)):
            t = time.perf_counter()
            out = gpt2.generate(prompt, max_new_tokens=64, min_new_tokens=64, **kwargs)
            samples.append(time.perf_counter() - t)
            tokens = out.shape[1] - prompt.shape[1]
        r = summary(samples)
        r["tokens"] = tokens
        r["tokens_per_s"] = tokens / sorted(samples)[len(samples) // 2]
        results["gpt2_greedy_64"] = r
    json.dump(results, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
