#!/usr/bin/env bash
# Runs the benchmarks (Benchmarks/, package-benchmark) and the anchor scripts in one go and
# prints every benchmark as a ratio against its anchor measured in the same run.
#   scripts/bench-report.sh [package-benchmark flags, e.g. --filter 'CRC32C.*']
# Environment: WIRESTACK_PY (python with lz4/python-snappy/zstandard/kafka-python for the codec
# anchors; default: the peers venv or python3), BENCH_OUT (results directory, default .build-bench-results).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/.build-bench-results}
mkdir -p "$OUT"
rm -f "$OUT"/*.json
PY=${WIRESTACK_PY:-}
if [[ -z "$PY" && -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"; fi
PY=${PY:-python3}
export WIRESTACK_BENCH_PAYLOAD="$OUT/chat-payload.bin"

# 1. Swift benchmarks (release build in Benchmarks/.build; the first build takes several minutes).
(cd "$ROOT/Benchmarks" && swift package -j 1 --allow-writing-to-directory "$OUT" \
    benchmark --no-progress --format jmh --path "$OUT" "$@")

# 2. Anchors measured by other tools in the same run.
if [[ -f "$WIRESTACK_BENCH_PAYLOAD" ]] && "$PY" -c 'import lz4, snappy, zstandard, kafka' 2>/dev/null; then
    "$PY" "$ROOT/Benchmarks/Anchors/python_codecs.py" "$WIRESTACK_BENCH_PAYLOAD" "$OUT/anchor-python-codecs.json"
else
    echo "note: python codec anchor skipped (no payload exported or $PY lacks lz4/snappy/zstandard/kafka-python)" >&2
fi
for anchor in "$ROOT"/Benchmarks/Anchors/*.sh; do
    [[ -e "$anchor" ]] || continue
    bash "$anchor" "$OUT"   # each writes $OUT/anchor-*.json in the results format
done

# 3. The table.
JMH=(); for f in "$OUT"/*.jmh.json "$OUT"/*jmh*.json; do [[ -e "$f" ]] && JMH+=(--jmh "$f"); done
RESULTS=(); for f in "$OUT"/anchor-*.json; do [[ -e "$f" ]] && RESULTS+=(--results "$f"); done
python3 "$ROOT/scripts/bench_report.py" "${JMH[@]}" "${RESULTS[@]}" --json "$OUT/report.json"
