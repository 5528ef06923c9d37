#!/bin/bash
# A private PostgreSQL 15 cluster that tests may stop and restart (the shared server of
# scripts/peers.sh is never disturbed). PGWire's restart test uses the default one on
# 127.0.0.1:55533; the chat fault tests get their own through scripts/fault-postgres.sh.
#   scripts/pg-private.sh start     # start (creating the cluster if there is none)
#   scripts/pg-private.sh stop      # stop (the data stays)
#   scripts/pg-private.sh restart   # stop, wait PGWIRE_RESTART_DOWNTIME seconds (1), start
#   scripts/pg-private.sh halt      # stop -m fast and wait until the port is closed
#   scripts/pg-private.sh fresh     # a new empty cluster, started
#   scripts/pg-private.sh destroy   # stop and delete the cluster
#   scripts/pg-private.sh status
# Environment: PGWIRE_PRIVATE_PORT (default 55533), PGWIRE_PRIVATE_DIR (default /tmp/wirestack-pg-private).
# Needs PostgreSQL 15 (Debian postgresql-15); run as root or postgres.
set -euo pipefail
. "$(dirname "$0")/lib/processes.sh"
BIN=/usr/lib/postgresql/15/bin
PORT=${PGWIRE_PRIVATE_PORT:-55533}
DIR=${PGWIRE_PRIVATE_DIR:-/tmp/wirestack-pg-private}
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
  # The server must not inherit the caller's descriptors (a test waiting for this script's
  # output would otherwise wait for the server too).
  (
    close_inherited_fds
    exec $AS $BIN/pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w -t 30 start </dev/null >/dev/null
  )
}

halt() {
  if running; then $AS $BIN/pg_ctl -D "$DIR/data" -m fast -w -t 30 stop >/dev/null; fi
  wait_closed
}

case "${1:-start}" in
  start)
    running && exit 0
    [ -d "$DIR/data" ] || init
    launch
    echo "private postgresql on 127.0.0.1:$PORT" >&2 ;;
  stop)
    running && $AS $BIN/pg_ctl -D "$DIR/data" -m fast -w stop >/dev/null || true ;;
  restart)
    halt
    sleep "${PGWIRE_RESTART_DOWNTIME:-1}"
    launch ;;
  halt) halt ;;
  fresh) [ -d "$DIR/data" ] && halt; init; launch ;;
  destroy) [ -d "$DIR/data" ] && halt; rm -rf "$DIR" ;;
  status)
    running && echo "running on $PORT" || { echo "not running"; exit 1; } ;;
  *) echo "usage: $0 start|stop|restart|halt|fresh|destroy|status" >&2; exit 2 ;;
esac
