#!/bin/bash
# The whole test suite: installs the peers (Debian packages, Python venv), starts them, runs
# `swift test`, and stops what it started. Extra arguments go to `swift test` (e.g. --filter RedisWireTests).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/install-peers.sh
trap 'bash scripts/peers.sh stop' EXIT
bash scripts/peers.sh start
set -a; . .peers/peers.env; set +a
swift build --build-tests -j "$(nproc)"
swift test --skip-build "$@"
# The chat server's OpenAPI document against the running server (no server errors, conformance).
if [ $# -eq 0 ]; then
  swift build --product chat-server
  SCHEMATHESIS="$ROOT/.venv/bin/st" bash scripts/schemathesis.sh 25
fi
