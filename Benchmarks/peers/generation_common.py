"""What the generation peers (decode_peer.py, seq2seq_peer.py) share: the JSON line they print, the
environment they run in, the median of repeated timings, and loading the checkpoint into PyTorch."""
import json
import os
import statistics
import time


def emit(fields):
    """Prints `fields` as one JSON line (sorted keys), flushed."""
    print(json.dumps(fields, sort_keys=True), flush=True)


def drop_openblas_overrides():
    """Removes the OpenBLAS settings our own processes run with, which the peers' libraries must not see."""
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(k, None)


def median_ms(reps, body):
    """The median of `reps` timings of `body()`, in milliseconds."""
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        body()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def load_torch(path, threads, auto_class):
    """The float32 checkpoint at `path` through transformers' `auto_class` (e.g. "AutoModelForCausalLM"),
    eager attention, in eval mode, with `threads` PyTorch threads."""
    import torch
    import transformers
    torch.set_num_threads(threads)
    return getattr(transformers, auto_class).from_pretrained(path, dtype=torch.float32, attn_implementation="eager").eval()
