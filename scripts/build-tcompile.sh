#!/usr/bin/env bash
# Builds the release `tcompile` command line and prints its path. It links LLVM's static libraries
# (TCOMPILE_STATIC_LLVM=1, see Package.swift) and the Swift runtime and Foundation statically: the
# binary then depends on no Swift toolchain at run time and starts in ~15 ms instead of ~55 ms (relocating
# the shared libLLVM and Foundation at every start), which counts in commands that compile a model in
# well under a second. `swift build -c release --product tcompile` builds the same program, dynamically linked.
# Environment: SCRATCH (the build directory, .build-release).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SCRATCH:-.build-release}
export TCOMPILE_STATIC_LLVM=1
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product tcompile >&2
echo "$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/tcompile"
