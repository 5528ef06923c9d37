#!/bin/bash
# Starts the shared CQL test node on 127.0.0.1:${CQL_NODE_PORT:-19042} in the background.
#   scripts/cql-node/start.sh PYTHON STATE_DIR   -> prints "export WIRESTACK_CQL_NODE=127.0.0.1:PORT"
set -euo pipefail
PY=${1:?python with cassandra-driver}; STATE=${2:?state dir}; PORT=${CQL_NODE_PORT:-19042}
DIR=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$STATE"
if [ -f "$STATE/cql-node.pid" ] && kill -0 "$(cat "$STATE/cql-node.pid")" 2>/dev/null; then
  echo "export WIRESTACK_CQL_NODE='127.0.0.1:$PORT'"; exit 0
fi
nohup "$PY" "$DIR/node.py" --port "$PORT" --log "$STATE/cql-node.log" > "$STATE/cql-node.out" 2>&1 &
echo $! > "$STATE/cql-node.pid"
for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
(echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || { echo "CQL node did not start; see $STATE/cql-node.out" >&2; exit 1; }
echo "export WIRESTACK_CQL_NODE='127.0.0.1:$PORT'"
