#!/usr/bin/env bash
# Builds and runs the whole test suite under AddressSanitizer (+ LeakSanitizer) and ThreadSanitizer,
# each in its own scratch folder (.build-asan, .build-tsan). Slow: a first build of each takes several
# minutes on 2 cores and the runs are 2–10× slower than a plain `swift test` (docs/security.md has the
# measured times), so it is not part of CI. Usage: scripts/sanitize.sh [address|thread ...] [-- FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
kinds=()
filter=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; filter=(--filter "$1"); shift ;;
        *) kinds+=("$1"); shift ;;
    esac
done
[ ${#kinds[@]} -eq 0 ] && kinds=(address thread)
scripts/fetch-minilm.sh
export SWIFT_BACKTRACE=enable=no   # sanitizer reports, not Swift's backtracer
# Suppressions name code that is not TCompile's; docs/security.md says why each is there.
export LSAN_OPTIONS=suppressions=$root/Fuzz/lsan.supp:print_suppressions=0
export TSAN_OPTIONS=suppressions=$root/scripts/tsan.supp:halt_on_error=1:second_deadlock_stack=1
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
# Traced nodes carry no Swift source line here: symbolicating one new call site takes seconds under a
# sanitizer, and tracing the test models would take hours. The six TracerTests about source lines are
# skipped with that reason; the plain `swift test` run (CI) checks them.
export TCOMPILE_SOURCE_LOCATIONS=0
for kind in "${kinds[@]}"; do
    case "$kind" in address) scratch=.build-asan ;; thread) scratch=.build-tsan ;; *) echo "unknown sanitizer $kind"; exit 2 ;; esac
    echo "sanitize: $kind: building ($scratch)"
    start=$(date +%s)
    swift build --build-tests --scratch-path "$scratch" --sanitize="$kind"
    built=$(date +%s)
    echo "sanitize: $kind: testing"
    swift test --skip-build --scratch-path "$scratch" --sanitize="$kind" "${filter[@]}"
    echo "sanitize: $kind: clean (build $((built - start)) s, tests $(( $(date +%s) - built )) s)"
done
