#!/usr/bin/env bash
# Named-entity recognition with no download: exports the shipped token classifier (a tiny BERT trained
# in eager Swift by samples/ner/train; `tcompile export` picks token-classification from config.json's
# architectures), compiles it to a static library, and runs the compiled model on sentences, printing
# the entity spans with their labels (Hugging Face's "simple" aggregation).
# Usage: samples/ner/run.sh [TCOMPILE] ["text" …]   With no texts, runs four default sentences (one
# without entities) and exits 1 unless it finds exactly their entities.
set -euo pipefail
tcompile=$(realpath "${1:-$(dirname "$0")/../../.build/release/tcompile}")
cd "$(dirname "$0")"
shift || true
texts=("$@")
expected=()
if [ ${#texts[@]} -eq 0 ]; then
    texts=("Maria Garcia flew from Berlin to Tokyo."
           "Yesterday Omar Haddad met a spokesperson for Bank of Canada in Lisbon."
           "Dr. Chen joined the Red Cross in Cape Town."
           "The weather was cold on Monday.")
    # What the model must find in each, in order: LABEL:words, separated by ';'.
    expected=("PER:Maria Garcia;LOC:Berlin;LOC:Tokyo"
              "PER:Omar Haddad;ORG:Bank of Canada;LOC:Lisbon"
              "PER:Chen;ORG:Red Cross;LOC:Cape Town"
              "")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tcompile" export model --name ner --max-batch 8 --max-seq 64 -o "$work/model.json"
"$tcompile" "$work/model.json" -o "$work/lib" >/dev/null
echo "compiled $work/lib/libner.a"
args=()
for t in "${texts[@]}"; do args+=(--text "$t"); done
"$tcompile" run "$work/model.json" --compiled --tokenizer model "${args[@]}" | tee "$work/out.txt"
[ ${#expected[@]} -eq 0 ] && exit 0
# One line per text: its entities as LABEL:words;… (the printed lines are `    LABEL: "words" (score, bytes …)`).
mapfile -t found < <(awk '/^  "/ { if (n++) print line; line = "" }
                         /^    [A-Z]+: "/ { label = $1; sub(/:$/, "", label); match($0, /"[^"]*"/)
                                            line = line (line == "" ? "" : ";") label ":" substr($0, RSTART + 1, RLENGTH - 2) }
                         END { if (n) print line }' "$work/out.txt")
status=0
for i in "${!expected[@]}"; do
    if [ "${found[$i]-<missing>}" != "${expected[$i]}" ]; then
        echo "ner: \"${texts[$i]}\": expected '${expected[$i]}', got '${found[$i]-<missing>}'" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "ner: found the expected entities in all ${#expected[@]} sentences"
exit $status
