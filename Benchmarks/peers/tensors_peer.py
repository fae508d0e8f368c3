#!/usr/bin/env python3
"""NumPy peer for the tensor benchmarks: the same elementwise and softmax workloads over 1M float32s as
Sources/TensorThroughput, timed the same way (median of REPS after two warm-ups). Prints JSON lines.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for this process only (run-tensors.sh does it), since they
slow a current NumPy; elementwise NumPy ops run on one thread.

Usage: tensors_peer.py REPS
"""
import json, sys, time
import numpy as np

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
rng = np.random.default_rng(3)
n = 1 << 20
x = rng.standard_normal(n, dtype=np.float32)
y = rng.standard_normal(n, dtype=np.float32)
rows = x.reshape(1024, 1024)

def softmax(v):
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

workloads = {
    "add_1M": lambda: x + y,
    "mul_1M": lambda: x * y,
    "exp_1M": lambda: np.exp(x),
    "tanh_1M": lambda: np.tanh(x),
    "relu_1M": lambda: np.maximum(x, 0),
    "sigmoid_1M": lambda: 1 / (1 + np.exp(-x)),
    "softmax_1024x1024": lambda: softmax(rows),
}
for name, body in workloads.items():
    body(); body()
    times = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        body()
        times.append((time.perf_counter_ns() - start) / 1e6)
    times.sort()
    print(json.dumps({"workload": name, "numpy_ms": times[len(times) // 2], "numpy_min_ms": times[0],
                      "numpy_max_ms": times[-1], "numpy": np.__version__}))
