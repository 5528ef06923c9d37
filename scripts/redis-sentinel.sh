#!/bin/bash
# Starts/stops a Redis master (16400), one replica (16401) and three sentinels (26379-26381)
# watching master "wirestack" (quorum 2, down-after 1 s), for RedisWire's Sentinel tests.
#   scripts/redis-sentinel.sh start    # prints the export lines for the test environment
#   scripts/redis-sentinel.sh stop
#   scripts/redis-sentinel.sh status
# The failover test shuts the current master down; run `stop` then `start` before re-running it.
# State in ${WIRESTACK_PEERS_DIR:-/tmp/wirestack-peers}/redis-sentinel.
set -euo pipefail
STATE=${WIRESTACK_PEERS_DIR:-/tmp/wirestack-peers}/redis-sentinel
MASTER=16400; REPLICA=16401; SENTINELS="26379 26380 26381"; NAME=wirestack
log() { echo "[redis-sentinel] $*" >&2; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_server() { # port [replicaof-port]
  local d="$STATE/$1"
  alive "$d/redis.pid" && return 0
  rm -rf "$d"; mkdir -p "$d"
  local extra=()
  [ -n "${2:-}" ] && extra=(--replicaof 127.0.0.1 "$2")
  redis-server --bind 127.0.0.1 --port "$1" --save "" --appendonly no --daemonize no --dir "$d" \
    --pidfile "$d/redis.pid" --logfile "$d/redis.log" --enable-debug-command local "${extra[@]}" &
  echo $! > "$d/redis.pid"
  for i in $(seq 1 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && break; sleep 0.05; done
}

start() {
  mkdir -p "$STATE"
  start_server $MASTER
  start_server $REPLICA $MASTER
  for i in $(seq 1 100); do
    redis-cli -p $REPLICA info replication | grep -q 'master_link_status:up' && break; sleep 0.1
  done
  for p in $SENTINELS; do
    local d="$STATE/s$p"
    alive "$d/sentinel.pid" && continue
    rm -rf "$d"; mkdir -p "$d"
    cat > "$d/sentinel.conf" <<CONF
bind 127.0.0.1
port $p
dir $d
pidfile $d/sentinel.pid
logfile $d/sentinel.log
sentinel monitor $NAME 127.0.0.1 $MASTER 2
sentinel down-after-milliseconds $NAME 1000
sentinel failover-timeout $NAME 4000
sentinel parallel-syncs $NAME 1
CONF
    redis-server "$d/sentinel.conf" --sentinel --daemonize no &
    echo $! > "$d/sentinel.pid"
  done
  for p in $SENTINELS; do
    for i in $(seq 1 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
  done
  # Wait until the sentinels know the replica and each other.
  for i in $(seq 1 100); do
    r=$(redis-cli -p 26379 sentinel master $NAME | awk 'p{print; exit} /^num-other-sentinels$/{p=1}')
    [ "${r:-0}" -ge 2 ] && break; sleep 0.1
  done
  log "master $(redis-cli -p 26379 sentinel get-master-addr-by-name $NAME | tr '\n' ':')"
  echo "export WIRESTACK_REDIS_SENTINELS=127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381"
  echo "export WIRESTACK_REDIS_SENTINEL_MASTER=$NAME"
}

stop() {
  for f in "$STATE"/*/sentinel.pid "$STATE"/*/redis.pid; do
    if alive "$f"; then kill "$(cat "$f")"; fi
  done
  sleep 0.3
  rm -rf "$STATE"
}

status() {
  for f in "$STATE"/*/sentinel.pid "$STATE"/*/redis.pid; do
    [ -f "$f" ] || continue
    if alive "$f"; then echo "$(dirname "$f") up"; else echo "$(dirname "$f") down"; fi
  done
  redis-cli -p 26379 sentinel get-master-addr-by-name $NAME 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
