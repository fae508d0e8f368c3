#!/usr/bin/env bash
# The README's test command: builds the package and its tests, then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-minilm.sh
swift build --build-tests
swift test --skip-build --parallel
# Samples, each in a fast configuration.
swift run --skip-build train-basics --epochs 5
