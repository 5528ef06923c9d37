#!/bin/bash
# A private PostgreSQL 15 that the chat fault tests stop and restart (the shared server of
# scripts/peers.sh is never disturbed). Data survives halt/resume; `start` begins empty.
#   scripts/fault-postgres.sh start    # fresh cluster; prints: export WIRESTACK_PG_FAULT=127.0.0.1:<port>
#   scripts/fault-postgres.sh halt     # pg_ctl stop -m fast (sessions are cut off); the port is closed when it returns
#   scripts/fault-postgres.sh resume   # start again on the same data
#   scripts/fault-postgres.sh stop     # stop and delete the cluster
# Port: PG_FAULT_PORT (default 55593). Needs PostgreSQL 15 (Debian postgresql-15); run as root or postgres.
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
PORT=${PG_FAULT_PORT:-55593}
DIR=${WIRESTACK_PG_FAULT_DIR:-/tmp/wirestack-pg-fault-$PORT}
AS="runuser -u postgres --"; [ "$(id -un)" = postgres ] && AS=""
running() { [ -f "$DIR/data/postmaster.pid" ] && $AS $BIN/pg_ctl -D "$DIR/data" status >/dev/null 2>&1; }
open_port() { (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
wait_closed() { for _ in $(seq 1 200); do open_port || return 0; sleep 0.05; done; echo "postgres port $PORT did not close" >&2; return 1; }
init() {
  rm -rf "$DIR"; mkdir -p "$DIR"; chown postgres:postgres "$DIR"; chmod 700 "$DIR"
  $AS $BIN/initdb -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log"
  cat >>"$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
CONF
}
launch() {
  # pg_ctl's server must not inherit the caller's descriptors (see fault-redis.sh).
  (
    for fd in /proc/self/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-" 2>/dev/null; done
    exec $AS $BIN/pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w -t 30 start </dev/null >/dev/null
  )
}
halt() {
  if running; then $AS $BIN/pg_ctl -D "$DIR/data" -m fast -w -t 30 stop >/dev/null; fi
  wait_closed
}
case "${1:-}" in
  start) [ -d "$DIR/data" ] && halt; init; launch; echo "export WIRESTACK_PG_FAULT=127.0.0.1:$PORT" ;;
  halt) halt ;;
  resume) running || launch ;;
  stop) [ -d "$DIR/data" ] && halt; rm -rf "$DIR" ;;
  *) echo "usage: $0 start|halt|resume|stop" >&2; exit 2 ;;
esac
