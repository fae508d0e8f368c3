#!/usr/bin/env python3
"""HF tokenizers peer for run-tokenizers.sh: single-thread encoding throughput (MB/s of UTF-8 input) on the
fixture corpus, printed as one JSON line, measured the same way as TokenizerThroughput (a warm-up pass, then
`passes` passes of 10 x encode_batch(corpus), median).

Usage: RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false python tokenizers_peer.py wordpiece|bpe REPO_ROOT [passes]
"""
import json
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402  (after the environment is set)
from tokenizers import Tokenizer  # noqa: E402

REPEATS = 10


def main():
    kind, root = sys.argv[1], sys.argv[2]
    passes = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    fixtures = os.path.join(root, "Tests", "TokenizersTests", "Fixtures")
    with open(os.path.join(fixtures, "corpus.json"), encoding="utf-8") as f:
        lines = json.load(f)["lines"]
    size = sum(len(line.encode("utf-8")) for line in lines)
    path = (os.path.join(root, ".models", "all-MiniLM-L6-v2", "tokenizer.json") if kind == "wordpiece"
            else os.path.join(fixtures, "bpe", "gpt2", "tokenizer.json"))
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.no_truncation()

    def one_pass():
        tokens = 0
        start = time.perf_counter()
        for _ in range(REPEATS):
            for enc in tok.encode_batch(lines):
                tokens += len(enc.ids)
        return time.perf_counter() - start, tokens

    one_pass()
    speeds, tokens = [], 0
    for _ in range(passes):
        seconds, tokens = one_pass()
        speeds.append(size * REPEATS / seconds / 1e6)
    speeds.sort()
    print(json.dumps({"impl": "hf-tokenizers", "version": tokenizers.__version__, "tokenizer": kind,
                      "mb_per_s": speeds[len(speeds) // 2], "passes": speeds, "bytes": size * REPEATS,
                      "tokens": tokens}))


if __name__ == "__main__":
    main()
