#!/bin/bash
# KafkaWire vs librdkafka throughput (issue 5's numbers): starts a private, fresh broker (Tansu keeps
# everything in memory, so a shared one would grow by ~1 GB per run; noida-db gets a temporary data
# directory), then runs the interleaved benchmark Benchmarks/KafkaThroughput (release) against it,
# then stops the broker.
#   scripts/kafka-bench.sh [--broker tansu|noida] [--messages 1000000] [--rounds 3] [--codecs none,lz4]
# Needs WIRESTACK_TANSU_BIN / WIRESTACK_NOIDA_BIN and WIRESTACK_PY (from .peers/peers.env).
# Port: KAFKA_BENCH_PORT (19292). KAFKA_BENCH_SKIP_BUILD=1 uses the existing release binary.
# In a helper worktree run it through the wrapper: /work/wbuild /work/wt-<name> scripts/kafka-bench.sh ...
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${KAFKA_BENCH_PORT:-19292}
BROKER_KIND=tansu
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --broker) BROKER_KIND=$2; shift 2 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
LOG=$(mktemp -t kafka-bench-broker.XXXXXX)
DATA=""
case "$BROKER_KIND" in
    tansu)
        TANSU_BIN=${WIRESTACK_TANSU_BIN:-$(command -v tansu || true)}
        [ -x "$TANSU_BIN" ] || { echo "tansu binary not found (set WIRESTACK_TANSU_BIN)" >&2; exit 1; }
        setsid "$TANSU_BIN" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" >"$LOG" 2>&1 &
        ;;
    noida)
        NOIDA_BIN=${WIRESTACK_NOIDA_BIN:-$(command -v noida-db || true)}
        [ -x "$NOIDA_BIN" ] || { echo "noida-db not found (set WIRESTACK_NOIDA_BIN)" >&2; exit 1; }
        DATA=$(mktemp -d -t kafka-bench-noida.XXXXXX)
        setsid "$NOIDA_BIN" start --data-dir "$DATA" --only kafka --kafka-port "$PORT" >"$LOG" 2>&1 &
        ;;
    *) echo "unknown broker $BROKER_KIND (tansu or noida)" >&2; exit 2 ;;
esac
BROKER=$!
# The broker runs in its own process group (noida-db's launcher starts a child): stop the group.
cleanup() {
    kill -TERM -- "-$BROKER" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 -- "-$BROKER" 2>/dev/null || break; sleep 0.05; done
    kill -KILL -- "-$BROKER" 2>/dev/null || true
    wait "$BROKER" 2>/dev/null || true
    rm -f "$LOG"
    if [ -n "$DATA" ]; then rm -rf "$DATA"; fi
}
trap cleanup EXIT
for _ in $(seq 1 300); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
echo "broker: $BROKER_KIND (pid $BROKER) at 127.0.0.1:$PORT; load: $(uptime)"
cd "$ROOT/Benchmarks"
if [ "${KAFKA_BENCH_SKIP_BUILD:-0}" != 1 ]; then
    swift build -c release -j 1 --product KafkaThroughput
fi
KAFKA_BENCH_BROKER_PID=$BROKER "$ROOT/Benchmarks/.build/release/KafkaThroughput" --bootstrap "127.0.0.1:$PORT" "${ARGS[@]}"
echo "load after: $(uptime)"
