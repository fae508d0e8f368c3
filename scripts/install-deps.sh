#!/usr/bin/env bash
# Installs the system packages TCompile builds against (LLVM 19's C API, OpenBLAS, Graphviz for DOT
# tests, valgrind for scripts/valgrind.sh) when any is missing. Safe to run repeatedly; needs root or
# sudo only when it installs.
set -euo pipefail
packages=(llvm-19-dev libopenblas-dev graphviz valgrind)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q "${missing[@]}"
