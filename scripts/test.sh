#!/bin/bash
# The whole test suite: installs the peers (Debian packages, Python venv), starts them, runs
# every test target (one at a time), and stops what it started. Extra arguments go to `swift test` (e.g. --filter RedisWireTests).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/install-peers.sh
trap 'bash scripts/peers.sh stop' EXIT
bash scripts/peers.sh start
set -a; . .peers/peers.env; set +a
swift build --build-tests -j "$(nproc)"
if [ $# -gt 0 ]; then
  swift test --skip-build "$@"
else
  # One test target at a time (suites inside a target still run in parallel): on a 2-core
  # machine every module's interop suites at once starve the timing-sensitive ones.
  failed=()
  for target in $(cd Tests && ls -d *Tests); do
    echo "=== $target"
    swift test --skip-build --filter "$target" || failed+=("$target")
  done
  # The chat server's end-to-end suite again, on the distributed adapters (PostgreSQL, the CQL
  # node, Redis; each test server gets its own database, keyspace and key prefix).
  echo "=== ChatServerTests (distributed adapters)"
  CHAT_TEST_DEPLOYMENT=distributed swift test --skip-build --filter ChatServerTests || failed+=("ChatServerTests-distributed")
  if [ ${#failed[@]} -gt 0 ]; then echo "FAILED: ${failed[*]}" >&2; exit 1; fi
fi
# The chat server's OpenAPI document against the running server (no server errors, conformance).
if [ $# -eq 0 ]; then
  swift build --product chat-server
  SCHEMATHESIS="$ROOT/.venv/bin/st" bash scripts/schemathesis.sh 25
fi
