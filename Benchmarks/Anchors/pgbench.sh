#!/usr/bin/env bash
# pg anchor: pgbench (C, libpq) `-S -M prepared` on the same server as PGWireBenchmarks.
#   Benchmarks/Anchors/pgbench.sh OUT_DIR      -> OUT_DIR/anchor-pgbench.json
#   Benchmarks/Anchors/pgbench.sh --init       -> creates and fills the pgwire_bench database (pgbench -i -s 1)
# Environment: WIRESTACK_PG_HOST/PORT (scripts/peers.sh), PGBENCH_SECONDS (default 10).
set -euo pipefail
HOST=${WIRESTACK_PG_HOST:-127.0.0.1}
PORT=${WIRESTACK_PG_PORT:-55432}
DB=${PGWIRE_BENCH_DB:-pgwire_bench}
SECS=${PGBENCH_SECONDS:-10}
init() {
  if ! psql -h "$HOST" -p "$PORT" -U postgres -d "$DB" -Atc "SELECT 1 FROM pgbench_branches LIMIT 1" >/dev/null 2>&1; then
    psql -h "$HOST" -p "$PORT" -U postgres -d postgres -qc "CREATE DATABASE $DB" 2>/dev/null || true
    pgbench -h "$HOST" -p "$PORT" -U postgres -i -s 1 -q "$DB" >/dev/null 2>&1
  fi
}
if [[ "${1:-}" == "--init" ]]; then init; exit 0; fi
OUT=${1:?usage: pgbench.sh OUT_DIR | --init}
init
tps() { # clients threads -- without TLS, as the Swift clients connect; -j 2 = NIO's two event loops here
  PGSSLMODE=disable pgbench -h "$HOST" -p "$PORT" -U postgres -S -M prepared -n -c "$1" -j "$2" -T "$SECS" "$DB" 2>/dev/null \
    | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -1
}
T1=$(tps 1 1)
T16=$(tps 16 2)
# PGWireBenchmarks' 16-connection iteration runs 1,024 queries: report per-iteration rates.
python3 - "$OUT/anchor-pgbench.json" "$T1" "$T16" <<'PY'
import json, sys
out, t1, t16 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
json.dump({"results": [
    {"name": "pgbench point select 1 conn", "opsPerSecond": t1},
    {"name": "pgbench point select 16 conns", "opsPerSecond": t16 / 1024.0},
]}, open(out, "w"))
print(f"pgbench -S -M prepared: 1 conn {t1:.0f} tps, 16 conns {t16:.0f} tps")
PY
