#!/bin/bash
# Fresh, private Kafka brokers for KafkaWire's destructive/large suites (the shared ones stay clean):
# Tansu on 19192 and noida-db on 19193, each with a new temp dir.
#   scripts/kafka-private.sh start   # prints export lines: WIRESTACK_KAFKA_PRIVATE_TANSU / _NOIDA
#   scripts/kafka-private.sh stop
# Needs WIRESTACK_TANSU_BIN and WIRESTACK_NOIDA_BIN (from .peers/peers.env) or tansu/noida-db on PATH.
set -euo pipefail
STATE=${WIRESTACK_KAFKA_PRIVATE_DIR:-/tmp/wirestack-kafka-private}
TANSU_PORT=${KAFKA_PRIVATE_TANSU_PORT:-19192}
NOIDA_PORT=${KAFKA_PRIVATE_NOIDA_PORT:-19193}
TANSU_BIN=${WIRESTACK_TANSU_BIN:-$(command -v tansu || true)}
NOIDA_BIN=${WIRESTACK_NOIDA_BIN:-$(command -v noida-db || true)}
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
wait_port() { for _ in $(seq 1 200); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 did not open" >&2; return 1; }
stop() {
  for f in "$STATE"/tansu.pid "$STATE"/noida.pid; do
    if alive "$f"; then kill "$(cat "$f")" 2>/dev/null || true; fi
    rm -f "$f"
  done
  for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$NOIDA_PORT") 2>/dev/null || (echo > "/dev/tcp/127.0.0.1/$TANSU_PORT") 2>/dev/null || break
    sleep 0.1
  done
}
case "${1:-}" in
  start)
    stop
    mkdir -p "$STATE"
    [ -x "$TANSU_BIN" ] || { echo "tansu binary not found (set WIRESTACK_TANSU_BIN)" >&2; exit 1; }
    [ -x "$NOIDA_BIN" ] || { echo "noida-db not found (set WIRESTACK_NOIDA_BIN)" >&2; exit 1; }
    "$TANSU_BIN" broker --listener-url "tcp://127.0.0.1:$TANSU_PORT" --advertised-listener-url "tcp://127.0.0.1:$TANSU_PORT" >"$STATE/tansu.log" 2>&1 &
    echo $! > "$STATE/tansu.pid"
    DATA=$(mktemp -d -t noida-private.XXXXXX)
    "$NOIDA_BIN" start --data-dir "$DATA" --only kafka --kafka-port "$NOIDA_PORT" >"$STATE/noida.log" 2>&1 &
    echo $! > "$STATE/noida.pid"
    wait_port "$TANSU_PORT"; wait_port "$NOIDA_PORT"
    echo "export WIRESTACK_KAFKA_PRIVATE_TANSU=127.0.0.1:$TANSU_PORT"
    echo "export WIRESTACK_KAFKA_PRIVATE_NOIDA=127.0.0.1:$NOIDA_PORT"
    ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
