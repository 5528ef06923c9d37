#!/usr/bin/env bash
# Runs schemathesis against /openapi.json of a freshly started chat server (embedded default):
# no server errors, every response conforms to the document (status codes, content types, schemas).
# Usage: scripts/schemathesis.sh [max-examples]   (needs a built chat-server: swift build --product chat-server)
# schemathesis comes from $SCHEMATHESIS, else `st` on PATH, else a private venv in .build/schemathesis-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-25}"
port="${CHAT_SCHEMATHESIS_PORT:-18480}"
server="${CHAT_SERVER_BIN:-$(swift build --show-bin-path 2>/dev/null)/chat-server}"
[ -x "$server" ] || { echo "chat-server binary not found at $server (swift build --product chat-server)"; exit 1; }
st="${SCHEMATHESIS:-}"
if [ -z "$st" ]; then
  if command -v st >/dev/null 2>&1; then st=st; else
    venv=.build/schemathesis-venv
    [ -x "$venv/bin/st" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q schemathesis; }
    st="$venv/bin/st"
  fi
fi
data="$(mktemp -d)"
"$server" --port "$port" --grpc-port 0 --data-dir "$data" --password-rounds 1000 --admin-token schemathesis-admin --log-level warning &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
for u in schemauser schemafriend; do
  curl -sf -X POST "$base/api/registration" -H 'Content-Type: application/json' \
    -d "{\"userName\":\"$u\",\"password\":\"schema-password\",\"displayName\":\"Schema User\",\"phone\":\"0888123456\",\"email\":\"$u@example.com\"}" >/dev/null
done
token="$(curl -sf -X POST "$base/api/session" -H 'Content-Type: application/json' \
  -d '{"userName":"schemauser","password":"schema-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')"
"$st" run "$base/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$examples" \
  --exclude-path /api/realtime \
  --workers 1
