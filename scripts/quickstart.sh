#!/usr/bin/env bash
# The README's main job on a fresh machine: install what is missing, build in release, and run the
# shipped sample (train a small network in eager Swift, printing the loss as it falls).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product train-basics
.build/release/train-basics "$@"
