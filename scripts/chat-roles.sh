#!/bin/bash
# The chat backend as one OS process per role, from the one chat-server binary, on a Kafka
# backplane: idgen, user, chats and config each serve their internal gRPC contracts; messaging
# (WebSocket + gRPC real-time) and the bff (HTTP API) reach them over GRPCWire.
#
#   scripts/chat-roles.sh start    # prints every process's addresses
#   scripts/chat-roles.sh status
#   scripts/chat-roles.sh stop
#
# Ports (CHAT_ROLES_PORT, default 18180 = P): bff HTTP P, messaging HTTP P+1 and gRPC P+2;
# idgen/user/chats/config HTTP (operational routes only) P+10..P+13 and internal gRPC P+20..P+23.
#
# Environment:
#   CHAT_SERVER_BIN          chat-server binary (default: .build/release/chat-server, else .build/debug/chat-server)
#   CHAT_ROLES_KAFKA         bootstrap brokers (default: $WIRESTACK_KAFKA_TANSU from .peers/peers.env)
#   CHAT_ROLES_STORE_FLAGS   flags selecting the stores (default: the peers' PostgreSQL, CQL node and
#                            Redis with a fresh database/keyspace/prefix per start); set it empty to
#                            share embedded SQLite stores in one data directory instead.
#   CHAT_ROLES_DIR           state directory (default /tmp/wirestack-chat-roles)
#   CHAT_ADMIN_TOKEN         admin token of the config API (default roles-admin)
set -euo pipefail
. "$(dirname "$0")/lib/processes.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${CHAT_ROLES_DIR:-/tmp/wirestack-chat-roles}
P=${CHAT_ROLES_PORT:-18180}
ADMIN=${CHAT_ADMIN_TOKEN:-roles-admin}
if [ -f "$ROOT/.peers/peers.env" ]; then set -a; . "$ROOT/.peers/peers.env"; set +a; fi
PY=${WIRESTACK_PY:-python3}
BIN=${CHAT_SERVER_BIN:-}
if [ -z "$BIN" ]; then
  for b in "$ROOT/.build/release/chat-server" "$ROOT/.build/debug/chat-server"; do [ -x "$b" ] && { BIN=$b; break; }; done
fi
ROLES=(config idgen user chats messaging bff)

http_port() {  # $1 role
  case "$1" in bff) echo "$P" ;; messaging) echo $((P + 1)) ;; config) echo $((P + 10)) ;; idgen) echo $((P + 11)) ;;
    user) echo $((P + 12)) ;; chats) echo $((P + 13)) ;; esac
}
internal_port() {  # $1 role (backend roles only)
  case "$1" in config) echo $((P + 20)) ;; idgen) echo $((P + 21)) ;; user) echo $((P + 22)) ;; chats) echo $((P + 23)) ;; esac
}

wait_ready() {  # $1 role
  local port; port=$(http_port "$1")
  for _ in $(seq 1 600); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "the $1 process (port $port) did not become ready; its log:" >&2
  tail -20 "$STATE/$1.log" >&2
  return 1
}

stop() {
  local i
  for ((i = ${#ROLES[@]} - 1; i >= 0; i--)); do  # front ends first, config last
    stop_pid_file "$STATE/${ROLES[$i]}.pid" 150
  done
}

start() {
  [ -n "$BIN" ] && [ -x "$BIN" ] || { echo "chat-server binary not found: build it (swift build --product chat-server) or set CHAT_SERVER_BIN" >&2; exit 1; }
  local kafka=${CHAT_ROLES_KAFKA:-${WIRESTACK_KAFKA_TANSU:-}}
  [ -n "$kafka" ] || { echo "no Kafka broker (roles in separate processes share the backplane): start the peers (scripts/peers.sh start) or set CHAT_ROLES_KAFKA" >&2; exit 1; }
  stop
  rm -rf "$STATE"; mkdir -p "$STATE/data"
  local stamp; stamp=$(date +%s%N | cut -c1-13)
  local prefix="roles-$stamp-"
  echo "$prefix" > "$STATE/prefix"
  if [ -z "${CHAT_ROLES_STORE_FLAGS+set}" ] && [ -n "${WIRESTACK_PG_HOST:-}" ] && [ -n "${WIRESTACK_CQL_NODE:-}" ] && [ -n "${WIRESTACK_REDIS_URL:-}" ]; then
    CHAT_ROLES_STORE_FLAGS="--postgres $WIRESTACK_PG_HOST:${WIRESTACK_PG_PORT:-5432} --postgres-database chat_roles_$stamp"
    CHAT_ROLES_STORE_FLAGS+=" --cassandra $WIRESTACK_CQL_NODE --cassandra-keyspace chat_roles_$stamp"
    CHAT_ROLES_STORE_FLAGS+=" --redis $WIRESTACK_REDIS_URL --redis-prefix $prefix"
  fi
  # The front ends reach every backend role over gRPC; a backend process reads the stores directly
  # (a remote it does not need would only make its readiness depend on the other processes).
  local stores="--user-address 127.0.0.1:$(internal_port user) --chats-address 127.0.0.1:$(internal_port chats) --config-address 127.0.0.1:$(internal_port config)"
  # One data directory: the bff and messaging share its token secret (and, with embedded stores,
  # the SQLite files, which WAL mode lets several processes use). Started one at a time, config
  # first: the others read the dynamic config at start-up.
  for role in "${ROLES[@]}"; do
    local args=(--roles "$role" --port "$(http_port "$role")" --data-dir "$STATE/data" --kafka "$kafka" --kafka-prefix "$prefix")
    case "$role" in
      messaging) args+=(--grpc-port $((P + 2)) --server-id 0 --idgen-address "127.0.0.1:$(internal_port idgen)" $stores) ;;
      bff) args+=(--grpc-port=-1 $stores) ;;
      *) args+=(--grpc-port=-1 --internal-grpc-port "$(internal_port "$role")" --generator-id 1) ;;
    esac
    # shellcheck disable=SC2086
    (close_inherited_fds; CHAT_ADMIN_TOKEN=$ADMIN exec "$BIN" "${args[@]}" ${CHAT_ROLES_STORE_FLAGS:-} </dev/null >"$STATE/$role.log" 2>&1) &
    echo $! > "$STATE/$role.pid"
    wait_ready "$role"
  done
  # Sessions name the messaging process: tell the config role, through the bff's admin API.
  "$PY" - "$P" "$ADMIN" <<'PYEOF'
import json, sys, urllib.request
port, token = int(sys.argv[1]), sys.argv[2]
url = f"http://127.0.0.1:{port}/api/config"
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
elements = json.load(urllib.request.urlopen(urllib.request.Request(url, headers=headers)))["elements"]
wanted = {"partitioning.addresses": f"0=http://127.0.0.1:{port + 1}"}
existing = [dict(e, value=wanted[e["name"]]) for e in elements if e["name"] in wanted]
body = json.dumps({"existingElements": existing, "newElements": [], "deletedElements": []}).encode()
urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers, method="PUT"))
PYEOF
  echo "bff:       http://127.0.0.1:$P (HTTP API, admin token $ADMIN)"
  echo "messaging: http://127.0.0.1:$((P + 1)) (WebSocket /api/realtime), gRPC 127.0.0.1:$((P + 2))"
  for role in config idgen user chats; do
    echo "$role: internal gRPC 127.0.0.1:$(internal_port "$role"), http://127.0.0.1:$(http_port "$role")/readyz"
  done
  echo "kafka $kafka, prefix $prefix; logs $STATE/<role>.log"
}

status() {
  local any=0
  for role in "${ROLES[@]}"; do
    local f="$STATE/$role.pid"
    [ -f "$f" ] || continue
    any=1
    if kill -0 "$(cat "$f")" 2>/dev/null; then echo "$role: up (http port $(http_port "$role"))"; else echo "$role: down"; fi
  done
  [ "$any" = 1 ] || echo "not running"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
