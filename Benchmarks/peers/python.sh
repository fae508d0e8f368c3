#!/usr/bin/env bash
# Prints the Python the benchmarks' peers run with: $PYTHON when set, else a virtual environment under
# the repository's ignored .venv-bench, made here from Benchmarks/peers/requirements.txt (≈ 6 GB with
# torch's CUDA wheels; once).
set -euo pipefail
if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; exit 0; fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.venv-bench"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, onnxruntime, openvino" 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet -r "$root/Benchmarks/peers/requirements.txt" >&2
fi
echo "$venv/bin/python"
