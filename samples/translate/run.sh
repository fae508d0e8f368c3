#!/usr/bin/env bash
# Translates English number words into digits with no download: exports the shipped encoder-decoder
# (samples/translate/model, a small BART trained in eager Swift by samples/translate/train) as a
# text2text-generation manifest and runs `tcompile generate` on it, which JIT-compiles the encoder and
# the decoder step and decodes greedily (the checkpoint's generation_config.json).
# Usage: [TCOMPILE=path/to/tcompile] samples/translate/run.sh ["number words" …]
# TCOMPILE defaults to .build/release/tcompile, built if missing. With no texts, translates four
# default ones and exits 1 unless each comes out as its digits.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tcompile=${TCOMPILE:-$root/.build/release/tcompile}
if [ ! -x "$tcompile" ]; then
    echo "building $tcompile (swift build -c release --product tcompile) …"
    (cd "$root" && swift build -c release --product tcompile)
fi
tcompile=$(realpath "$tcompile")
cd "$(dirname "$0")"
texts=("$@")
expected=()
if [ ${#texts[@]} -eq 0 ]; then
    texts=("three hundred and twelve" "forty-two thousand and five"
           "nine hundred and ninety-nine thousand nine hundred and ninety-nine" "Seventeen")
    expected=("312" "42005" "999999" "17")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tcompile" export model --task text2text-generation --max-batch ${#texts[@]} --max-seq 32 -o "$work/model.json" >/dev/null
args=()
for t in "${texts[@]}"; do args+=(--text "$t"); done
# One line per text ("[i] " before each when there are several); the timing line goes to stderr.
"$tcompile" generate "$work/model.json" --tokenizer model "${args[@]}" > "$work/out.txt"
mapfile -t found < <(sed -E 's/^\[[0-9]+\] //' "$work/out.txt")
status=0
for i in "${!texts[@]}"; do
    echo "${texts[$i]} → ${found[$i]-<missing>}"
    if [ ${#expected[@]} -gt 0 ] && [ "${found[$i]-<missing>}" != "${expected[$i]}" ]; then
        echo "translate: \"${texts[$i]}\": expected ${expected[$i]}" >&2
        status=1
    fi
done
exit $status
