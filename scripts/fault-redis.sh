#!/bin/bash
# A private Redis 7 that the chat fault tests stop and restart (the shared Redis of scripts/peers.sh
# is never disturbed). No persistence: a restart comes back empty, as a cache node that lost its
# memory does.
#   scripts/fault-redis.sh start    # fresh server; prints: export WIRESTACK_REDIS_FAULT=redis://127.0.0.1:<port>
#   scripts/fault-redis.sh halt     # stop (SIGTERM, then SIGKILL after 5 s); the port is closed when it returns
#   scripts/fault-redis.sh resume   # start again on the same port
#   scripts/fault-redis.sh stop     # stop and delete its state directory
# Port: REDIS_FAULT_PORT (default 19379). Needs redis-server (Debian redis-server).
set -euo pipefail
. "$(dirname "$0")/lib/processes.sh"
PORT=${REDIS_FAULT_PORT:-19379}
STATE=${WIRESTACK_REDIS_FAULT_DIR:-/tmp/wirestack-redis-fault-$PORT}
alive() { [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; }
open_port() { (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
wait_open() { for _ in $(seq 1 200); do open_port && return 0; sleep 0.05; done; echo "redis port $PORT did not open" >&2; tail -20 "$STATE/redis.log" >&2 || true; return 1; }
wait_closed() { for _ in $(seq 1 200); do open_port || return 0; sleep 0.05; done; echo "redis port $PORT did not close" >&2; return 1; }
halt() {
  if alive; then stop_pid_file "$STATE/pid" 50; fi
  rm -f "$STATE/pid"
  wait_closed
}
launch() {
  command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install redis-server)" >&2; exit 1; }
  mkdir -p "$STATE"
  # The server must not inherit the caller's other descriptors (a test runner waiting for this
  # script's end-of-output would wait for the server too): close everything above 2.
  (
    close_inherited_fds
    exec setsid redis-server --bind 127.0.0.1 --port "$PORT" --daemonize no --save "" --appendonly no \
      --dir "$STATE" --protected-mode no </dev/null >>"$STATE/redis.log" 2>&1
  ) &
  echo $! > "$STATE/pid"
  wait_open
}
case "${1:-}" in
  start) halt; rm -rf "$STATE"; launch; echo "export WIRESTACK_REDIS_FAULT=redis://127.0.0.1:$PORT" ;;
  halt) halt ;;
  resume) alive || launch ;;
  stop) halt; rm -rf "$STATE" ;;
  *) echo "usage: $0 start|halt|resume|stop" >&2; exit 2 ;;
esac
