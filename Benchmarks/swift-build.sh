#!/usr/bin/env bash
# `swift build -c release` as every benchmark builds (one set of flags per build directory, so the scripts
# sharing Benchmarks/.build-bench never rebuild each other's work): LLVM, the Swift runtime and Foundation
# linked statically, as scripts/build-tcompile.sh links the release tcompile (process start ~15 ms instead
# of ~55, which the compile workload's commands pay each time). Arguments are passed on.
export TCOMPILE_STATIC_LLVM=1
exec swift build -c release --static-swift-stdlib "$@"
