#!/bin/bash
# KafkaWire vs librdkafka throughput (issue 5's numbers): starts a private, fresh Tansu broker (it keeps
# everything in memory, so a shared one would grow by ~1 GB per run), then runs the interleaved
# benchmark Benchmarks/KafkaThroughput (release) against it, then stops the broker.
#   scripts/kafka-bench.sh [--messages 1000000] [--rounds 3] [--codecs none,lz4]
# Needs WIRESTACK_TANSU_BIN and WIRESTACK_PY (from .peers/peers.env). Port: KAFKA_BENCH_PORT (19292).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${KAFKA_BENCH_PORT:-19292}
TANSU_BIN=${WIRESTACK_TANSU_BIN:-$(command -v tansu || true)}
[ -x "$TANSU_BIN" ] || { echo "tansu binary not found (set WIRESTACK_TANSU_BIN)" >&2; exit 1; }
LOG=$(mktemp -t kafka-bench-tansu.XXXXXX)
"$TANSU_BIN" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" >"$LOG" 2>&1 &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true; wait $BROKER 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
cd "$ROOT/Benchmarks"
swift build -c release -j 1 --product KafkaThroughput
"$ROOT/Benchmarks/.build/release/KafkaThroughput" --bootstrap "127.0.0.1:$PORT" "$@"
