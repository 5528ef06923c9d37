#!/bin/bash
# A private PostgreSQL 15 that the chat fault tests stop and restart (the shared server of
# scripts/peers.sh is never disturbed). Data survives halt/resume; `start` begins empty.
# A thin layer over scripts/pg-private.sh on its own port and directory.
#   scripts/fault-postgres.sh start    # fresh cluster; prints: export WIRESTACK_PG_FAULT=127.0.0.1:<port>
#   scripts/fault-postgres.sh halt     # pg_ctl stop -m fast (sessions are cut off); the port is closed when it returns
#   scripts/fault-postgres.sh resume   # start again on the same data
#   scripts/fault-postgres.sh stop     # stop and delete the cluster
# Port: PG_FAULT_PORT (default 55593). Needs PostgreSQL 15 (Debian postgresql-15); run as root or postgres.
set -euo pipefail
PORT=${PG_FAULT_PORT:-55593}
export PGWIRE_PRIVATE_PORT=$PORT
export PGWIRE_PRIVATE_DIR=${WIRESTACK_PG_FAULT_DIR:-/tmp/wirestack-pg-fault-$PORT}
PRIVATE="$(dirname "$0")/pg-private.sh"
case "${1:-}" in
  start) bash "$PRIVATE" fresh; echo "export WIRESTACK_PG_FAULT=127.0.0.1:$PORT" ;;
  halt) bash "$PRIVATE" halt ;;
  resume) bash "$PRIVATE" start 2>/dev/null ;;
  stop) bash "$PRIVATE" destroy ;;
  *) echo "usage: $0 start|halt|resume|stop" >&2; exit 2 ;;
esac
