#!/bin/bash
# Starts/stops a local Redis Cluster of 3 masters + 3 replicas for RedisWire's cluster tests.
#   scripts/redis-cluster.sh start    # idempotent; prints the export line for WIRESTACK_REDIS_CLUSTER
#   scripts/redis-cluster.sh stop
#   scripts/redis-cluster.sh status
# Ports 17000-17005 (cluster bus 27000-27005), loopback only, no persistence.
# State in ${WIRESTACK_PEERS_DIR:-/tmp/wirestack-peers}/redis-cluster.
set -euo pipefail
STATE=${WIRESTACK_PEERS_DIR:-/tmp/wirestack-peers}/redis-cluster
PORTS="17000 17001 17002 17003 17004 17005"
log() { echo "[redis-cluster] $*" >&2; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  mkdir -p "$STATE"
  local fresh=0
  for p in $PORTS; do
    local d="$STATE/$p"
    if alive "$d/redis.pid"; then continue; fi
    rm -rf "$d"; mkdir -p "$d"; fresh=1
    redis-server --bind 127.0.0.1 --port "$p" --cluster-enabled yes --cluster-config-file "$d/nodes.conf" \
      --cluster-node-timeout 2000 --save "" --appendonly no --daemonize no --dir "$d" \
      --pidfile "$d/redis.pid" --logfile "$d/redis.log" --enable-debug-command local \
      --cluster-allow-replica-migration no &
    echo $! > "$d/redis.pid"
  done
  for p in $PORTS; do
    for i in $(seq 1 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
  done
  if [ "$(redis-cli -p 17000 cluster info | tr -d '\r' | awk -F: '/cluster_state/{print $2}')" != "ok" ]; then
    if [ "$fresh" = 1 ] && [ "$(redis-cli -p 17000 cluster info | tr -d '\r' | awk -F: '/cluster_known_nodes/{print $2}')" = "1" ]; then
      redis-cli --cluster create $(for p in $PORTS; do printf '127.0.0.1:%s ' "$p"; done) \
        --cluster-replicas 1 --cluster-yes >"$STATE/create.log" 2>&1
    fi
    for i in $(seq 1 200); do
      [ "$(redis-cli -p 17000 cluster info | tr -d '\r' | awk -F: '/cluster_state/{print $2}')" = "ok" ] && break
      sleep 0.1
    done
  fi
  # Wait until every replica is attached, so replica reads and failovers are testable.
  for i in $(seq 1 200); do
    n=$(redis-cli -p 17000 cluster nodes | grep -c ' slave ' || true)
    [ "$n" -ge 3 ] && break; sleep 0.1
  done
  log "cluster up: $(redis-cli -p 17000 cluster info | tr -d '\r' | grep -E 'cluster_state|cluster_known_nodes' | tr '\n' ' ')"
  echo "export WIRESTACK_REDIS_CLUSTER=127.0.0.1:17000,127.0.0.1:17001,127.0.0.1:17002"
}

stop() {
  for p in $PORTS; do
    local f="$STATE/$p/redis.pid"
    if alive "$f"; then kill "$(cat "$f")"; fi
  done
  sleep 0.3
  rm -rf "$STATE"
}

status() {
  for p in $PORTS; do
    if alive "$STATE/$p/redis.pid"; then echo "$p up"; else echo "$p down"; fi
  done
  redis-cli -p 17000 cluster info 2>/dev/null | grep cluster_state || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
