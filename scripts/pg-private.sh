#!/bin/bash
# A private PostgreSQL 15 on 127.0.0.1:55533 for PGWire's restart test (the shared server is never
# restarted). Owned by PGWire's tests; the restart test calls `restart`.
#   scripts/pg-private.sh start | stop | restart | status
# Environment: PGWIRE_PRIVATE_PORT (default 55533), PGWIRE_PRIVATE_DIR (default /tmp/wirestack-pg-private).
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
PORT=${PGWIRE_PRIVATE_PORT:-55533}
DIR=${PGWIRE_PRIVATE_DIR:-/tmp/wirestack-pg-private}
AS="runuser -u postgres --"; [ "$(id -un)" = postgres ] && AS=""

running() { [ -f "$DIR/data/postmaster.pid" ] && $AS $BIN/pg_ctl -D "$DIR/data" status >/dev/null 2>&1; }

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

case "${1:-start}" in
  start)
    running && exit 0
    [ -d "$DIR/data" ] || init
    $AS $BIN/pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w -t 30 start >/dev/null
    echo "private postgresql on 127.0.0.1:$PORT" >&2 ;;
  stop)
    running && $AS $BIN/pg_ctl -D "$DIR/data" -m fast -w stop >/dev/null || true ;;
  restart)
    running && $AS $BIN/pg_ctl -D "$DIR/data" -m fast -w stop >/dev/null || true
    sleep "${PGWIRE_RESTART_DOWNTIME:-1}"
    $AS $BIN/pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w -t 30 start >/dev/null ;;
  status)
    running && echo "running on $PORT" || { echo "not running"; exit 1; } ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
