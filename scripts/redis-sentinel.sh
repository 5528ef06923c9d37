#!/bin/bash
# Starts/stops two Redis servers (16400, 16401: one master, one replica) and three sentinels
# (26379-26381) watching master "wirestack" (quorum 2, down-after 1 s), for RedisWire's Sentinel tests.
#   scripts/redis-sentinel.sh start    # prints the export lines for the test environment
#   scripts/redis-sentinel.sh stop
#   scripts/redis-sentinel.sh status
# `start` is idempotent and repairs the set: the failover test shuts the current master down, and
# the next `start` (the test runs it first) brings the stopped server back as a replica of whichever
# server the sentinels now call master. It returns only when the set can fail over: the replica's
# link is up and every sentinel reports it as a synced replica of the current master (role
# `slave`, link `ok`). A sentinel that still has an old view of the replica (it learns a
# replica's state from INFO only every 10 s) is what made failovers abort with -no-good-slave.
# State in ${WIRESTACK_PEERS_DIR:-/tmp/wirestack-peers}/redis-sentinel.
set -euo pipefail
STATE=${WIRESTACK_PEERS_DIR:-/tmp/wirestack-peers}/redis-sentinel
SERVERS="16400 16401"; SENTINELS="26379 26380 26381"; NAME=wirestack
log() { echo "[redis-sentinel] $*" >&2; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
cli() { timeout 5 redis-cli "$@" 2>/dev/null; }

start_server() { # port [replicaof-port]
  local d="$STATE/$1"
  alive "$d/redis.pid" && return 0
  rm -rf "$d"; mkdir -p "$d"
  local extra=()
  [ -n "${2:-}" ] && extra=(--replicaof 127.0.0.1 "$2")
  # stdio to /dev/null: a caller reading this script's output must see EOF when the script ends.
  redis-server --bind 127.0.0.1 --port "$1" --save "" --appendonly no --daemonize no --dir "$d" \
    --pidfile "$d/redis.pid" --logfile "$d/redis.log" --enable-debug-command local "${extra[@]}" \
    </dev/null >/dev/null 2>&1 &
  echo $! > "$d/redis.pid"
  for i in $(seq 1 100); do cli -p "$1" ping >/dev/null && break; sleep 0.05; done
}

start_sentinel() { # port master-port
  local d="$STATE/s$1"
  alive "$d/sentinel.pid" && return 0
  rm -rf "$d"; mkdir -p "$d"
  cat > "$d/sentinel.conf" <<CONF
bind 127.0.0.1
port $1
dir $d
pidfile $d/sentinel.pid
logfile $d/sentinel.log
sentinel monitor $NAME 127.0.0.1 $2 2
sentinel down-after-milliseconds $NAME 1000
sentinel failover-timeout $NAME 4000
sentinel parallel-syncs $NAME 1
CONF
  redis-server "$d/sentinel.conf" --sentinel --daemonize no </dev/null >/dev/null 2>&1 &
  echo $! > "$d/sentinel.pid"
  for i in $(seq 1 100); do cli -p "$1" ping >/dev/null && break; sleep 0.05; done
}

# The master port the running sentinels agree on and that answers as a master, or nothing.
sentinel_master() {
  local port="" p m
  for p in $SENTINELS; do
    alive "$STATE/s$p/sentinel.pid" || continue
    m=$(cli -p "$p" sentinel get-master-addr-by-name $NAME | tail -1)
    [ -n "$m" ] || return 0
    [ -z "$port" ] || [ "$port" = "$m" ] || return 0
    port=$m
  done
  [ -n "$port" ] && cli -p "$port" role | head -1 | grep -qx master && echo "$port"
  return 0
}

# One sentinel's view of replica `port`: "flags role-reported master-link-status master-port".
replica_view() { # sentinel-port replica-port
  cli -p "$1" sentinel replicas $NAME | awk -v want="127.0.0.1:$2" '
    NR % 2 == 1 { key = $0; next }
    { v[key] = $0 }
    key == "replica-announced" || key == "slave-repl-offset" {
      if (v["name"] == want) { print v["flags"], v["role-reported"], v["master-link-status"], v["master-port"]; exit }
    }'
}

# Whether every sentinel sees a healthy master, both other sentinels, and `replica` as a synced
# replica of `master`: what a failover needs (sentinelSelectSlave) and what the test waits for.
healthy() { # master replica
  local p n
  cli -p "$2" info replication | tr -d '\r' | grep -qx 'master_link_status:up' || return 1
  for p in $SENTINELS; do
    [ "$(cli -p "$p" sentinel get-master-addr-by-name $NAME | tail -1)" = "$1" ] || return 1
    n=$(cli -p "$p" sentinel master $NAME | awk 'p{print; exit} /^num-other-sentinels$/{p=1}')
    [ "${n:-0}" -ge 2 ] || return 1
    [ "$(replica_view "$p" "$2")" = "slave slave ok $1" ] || return 1
  done
}

start() {
  mkdir -p "$STATE"
  local master replica p
  master=$(sentinel_master)
  if [ -z "$master" ]; then
    # No sentinel set to repair (or one that lost its master): start from scratch.
    stop_all
    mkdir -p "$STATE"
    master=16400
  fi
  for p in $SERVERS; do
    if [ "$p" = "$master" ]; then start_server "$p"; else start_server "$p" "$master"; replica=$p; fi
  done
  for p in $SENTINELS; do start_sentinel "$p" "$master"; done
  # Wait until a failover can succeed (up to 60 s: sentinels refresh a replica's INFO every 10 s).
  for i in $(seq 1 600); do healthy "$master" "$replica" && break; sleep 0.1; done
  if ! healthy "$master" "$replica"; then
    log "replica $replica of $master not healthy in every sentinel's view"
    for p in $SENTINELS; do log "sentinel $p: $(replica_view "$p" "$replica")"; done
    exit 1
  fi
  log "master 127.0.0.1:$master, replica 127.0.0.1:$replica"
  echo "export WIRESTACK_REDIS_SENTINELS=127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381"
  echo "export WIRESTACK_REDIS_SENTINEL_MASTER=$NAME"
}

stop_all() {
  local f
  for f in "$STATE"/*/sentinel.pid "$STATE"/*/redis.pid; do
    if alive "$f"; then kill "$(cat "$f")"; fi
  done
  sleep 0.3
  rm -rf "$STATE"
}

status() {
  local f
  for f in "$STATE"/*/sentinel.pid "$STATE"/*/redis.pid; do
    [ -f "$f" ] || continue
    if alive "$f"; then echo "$(dirname "$f") up"; else echo "$(dirname "$f") down"; fi
  done
  cli -p 26379 sentinel get-master-addr-by-name $NAME || true
}

case "${1:-}" in
  start) start ;;
  stop) stop_all ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
