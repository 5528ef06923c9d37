#!/bin/bash
# Stops the shared CQL test node started by start.sh.   scripts/cql-node/stop.sh STATE_DIR
STATE=${1:?state dir}
[ -f "$STATE/cql-node.pid" ] && kill "$(cat "$STATE/cql-node.pid")" 2>/dev/null; rm -f "$STATE/cql-node.pid"; true
