#!/usr/bin/env bash
# Builds and runs one libFuzzer target from Fuzz/<Target>/ for N seconds.
#   scripts/fuzz.sh <Target> [seconds=30] [extra libFuzzer flags...]
#   scripts/fuzz.sh --list
# Needs the package's debug build (this script runs `swift build -j 1` for the target's modules
# first). Crashes are written to Fuzz/out/<Target>/crash-*; the growing corpus lives in
# Fuzz/corpus-<Target>/ (both git-ignored); Fuzz/<Target>/seeds/ (committed) seeds it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${1:-}" == "--list" || $# -lt 1 ]]; then
    ls -1 "$ROOT/Fuzz" | grep -v -E '^(out|corpus-.*|README.md|Shared)$'
    exit 0
fi
TARGET=$1
SECONDS_TO_RUN=${2:-30}
shift $(( $# >= 2 ? 2 : 1 ))
[[ -d "$ROOT/Fuzz/$TARGET" ]] || { echo "no fuzz target Fuzz/$TARGET (see scripts/fuzz.sh --list)" >&2; exit 2; }

if [[ "${FUZZ_SKIP_SWIFT_BUILD:-0}" != 1 && ! -f "$ROOT/.build/debug.yaml" ]]; then
    (cd "$ROOT" && swift build -j 1 --target WireCore >/dev/null)
fi
# The `// fuzz-modules:` line, or else the package modules the target imports (+ their package deps).
MODULES=$(python3 "$ROOT/scripts/fuzz_build.py" "$ROOT" "$TARGET" --print-modules)
if [[ "${FUZZ_SKIP_SWIFT_BUILD:-0}" != 1 ]]; then
    for module in $MODULES; do
        (cd "$ROOT" && swift build -j 1 --target "$module" >/dev/null) || { echo "swift build of $module failed" >&2; exit 1; }
    done
fi
BINARY=$(python3 "$ROOT/scripts/fuzz_build.py" "$ROOT" "$TARGET" | tail -1)

CORPUS="$ROOT/Fuzz/corpus-$TARGET"
mkdir -p "$CORPUS"
SEEDS=()
[[ -d "$ROOT/Fuzz/$TARGET/seeds" ]] && SEEDS=("$ROOT/Fuzz/$TARGET/seeds")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
"$BINARY" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=4096 -timeout=10 \
    -artifact_prefix="$ROOT/Fuzz/out/$TARGET/" -print_final_stats=1 "$@" "$CORPUS" "${SEEDS[@]}"
