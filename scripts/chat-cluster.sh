#!/bin/bash
# A local multi-instance chat deployment against the peers of scripts/peers.sh:
# N chat-server processes (server IDs 0..N-1, snowflake generators 0..N-1) on the Kafka backplane,
# each owning an even, contiguous range of the messages topic's partitions; sessions name the
# instance that owns the user's partition.
#
#   scripts/chat-cluster.sh start [N]   # default 2 instances; prints the instance URLs
#   scripts/chat-cluster.sh status
#   scripts/chat-cluster.sh stop
#
# Environment:
#   CHAT_SERVER_BIN            chat-server binary (default: .build/release/chat-server, else .build/debug/chat-server)
#   CHAT_CLUSTER_KAFKA         bootstrap brokers (default: $WIRESTACK_KAFKA_TANSU from .peers/peers.env)
#   CHAT_CLUSTER_PORT          first HTTP port (default 18080; instance i listens on PORT+i)
#   CHAT_CLUSTER_PARTITIONS    partitioning.count (default 12)
#   CHAT_CLUSTER_STORE_FLAGS   chat-server flags selecting the stores (default: the peers' PostgreSQL for
#                              users/config, the CQL test node for history/state, Redis for the cache,
#                              fresh database/keyspace/prefix per start); set it empty to share the
#                              embedded SQLite stores of one data directory instead.
#   CHAT_CLUSTER_DIR           state directory (default /tmp/wirestack-chat-cluster)
#   CHAT_ADMIN_TOKEN           admin token of the config API (default cluster-admin)
set -euo pipefail
. "$(dirname "$0")/lib/processes.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${CHAT_CLUSTER_DIR:-/tmp/wirestack-chat-cluster}
BASE_PORT=${CHAT_CLUSTER_PORT:-18080}
COUNT=${CHAT_CLUSTER_PARTITIONS:-12}
ADMIN=${CHAT_ADMIN_TOKEN:-cluster-admin}
if [ -f "$ROOT/.peers/peers.env" ]; then set -a; . "$ROOT/.peers/peers.env"; set +a; fi
PY=${WIRESTACK_PY:-python3}
BIN=${CHAT_SERVER_BIN:-}
if [ -z "$BIN" ]; then
  for b in "$ROOT/.build/release/chat-server" "$ROOT/.build/debug/chat-server"; do [ -x "$b" ] && { BIN=$b; break; }; done
fi

wait_ready() {  # $1 port
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "instance on port $1 did not become ready; see $STATE/instance-*.log" >&2
  return 1
}

stop() {
  for f in "$STATE"/instance-*.pid; do stop_pid_file "$f"; done
}

start() {
  local n=${1:-2}
  [ -n "$BIN" ] && [ -x "$BIN" ] || { echo "chat-server binary not found: build it (swift build --product chat-server) or set CHAT_SERVER_BIN" >&2; exit 1; }
  local kafka=${CHAT_CLUSTER_KAFKA:-${WIRESTACK_KAFKA_TANSU:-}}
  [ -n "$kafka" ] || { echo "no Kafka broker: start the peers (scripts/peers.sh start) or set CHAT_CLUSTER_KAFKA" >&2; exit 1; }
  stop
  rm -rf "$STATE"; mkdir -p "$STATE/data"
  local stamp; stamp=$(date +%s)
  local prefix="cluster-$stamp-"
  echo "$prefix" > "$STATE/prefix"
  # Default stores: the peers' PostgreSQL, CQL node and Redis (a fresh database, keyspace and key
  # prefix per start); CHAT_CLUSTER_STORE_FLAGS="" keeps the shared embedded SQLite stores.
  if [ -z "${CHAT_CLUSTER_STORE_FLAGS+set}" ] && [ -n "${WIRESTACK_PG_HOST:-}" ] && [ -n "${WIRESTACK_CQL_NODE:-}" ] && [ -n "${WIRESTACK_REDIS_URL:-}" ]; then
    CHAT_CLUSTER_STORE_FLAGS="--postgres $WIRESTACK_PG_HOST:${WIRESTACK_PG_PORT:-5432} --postgres-database chat_cluster_$stamp"
    CHAT_CLUSTER_STORE_FLAGS+=" --cassandra $WIRESTACK_CQL_NODE --cassandra-keyspace chat_cluster_$stamp"
    CHAT_CLUSTER_STORE_FLAGS+=" --redis $WIRESTACK_REDIS_URL --redis-prefix $prefix"
  fi
  # Instance 0 first: it seeds the shared dynamic config.
  for i in $(seq 0 $((n - 1))); do
    local port=$((BASE_PORT + i))
    # shellcheck disable=SC2086
    (close_inherited_fds; CHAT_ADMIN_TOKEN=$ADMIN exec "$BIN" --port "$port" --grpc-port "$((port + 1000))" --data-dir "$STATE/data" --server-id "$i" --generator-id "$i" \
      --kafka "$kafka" --kafka-prefix "$prefix" ${CHAT_CLUSTER_STORE_FLAGS:-} </dev/null >"$STATE/instance-$i.log" 2>&1) &
    echo $! > "$STATE/instance-$i.pid"
    wait_ready "$port"
  done
  # Even contiguous ranges (the reference's scheme) and every instance's address, through the
  # admin API of instance 0; the change reaches the others over the config-changes topic.
  "$PY" - "$BASE_PORT" "$n" "$COUNT" "$ADMIN" <<'PYEOF'
import json, sys, urllib.request
base, n, count, token = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
url = f"http://127.0.0.1:{base}/api/config"
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
elements = json.load(urllib.request.urlopen(urllib.request.Request(url, headers=headers)))["elements"]
ranges, lo = [], 0
for i in range(n):
    size = count // n + (1 if i < count % n else 0)
    ranges.append(f"{i}={lo}-{lo + size - 1}")
    lo += size
wanted = {"partitioning.count": str(count), "partitioning.partitions": ";".join(ranges),
          "partitioning.addresses": ";".join(f"{i}=http://127.0.0.1:{base + i}" for i in range(n))}
existing = [dict(e, value=wanted[e["name"]]) for e in elements if e["name"] in wanted]
body = json.dumps({"existingElements": existing, "newElements": [], "deletedElements": []}).encode()
urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers, method="PUT"))
print("partitioning:", wanted["partitioning.partitions"])
PYEOF
  for i in $(seq 0 $((n - 1))); do echo "instance $i: http://127.0.0.1:$((BASE_PORT + i)) (log $STATE/instance-$i.log)"; done
  echo "kafka $kafka, topics ${prefix}messages-by-receiver / ${prefix}config-changes"
}

status() {
  for f in "$STATE"/instance-*.pid; do
    [ -f "$f" ] || { echo "not running"; return 0; }
    local i; i=$(basename "$f" .pid); i=${i#instance-}
    if kill -0 "$(cat "$f")" 2>/dev/null; then echo "instance $i: up, port $((BASE_PORT + i))"; else echo "instance $i: down"; fi
  done
}

case "${1:-}" in
  start) start "${2:-2}" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [N]|status|stop" >&2; exit 2 ;;
esac
