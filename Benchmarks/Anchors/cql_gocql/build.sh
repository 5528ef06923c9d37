#!/bin/bash
# Builds the gocql benchmark anchor (GOPATH mode, Debian packages golang-go golang-github-gocql-gocql-dev)
# and prints its path:   Benchmarks/Anchors/cql_gocql/build.sh [OUT]
set -euo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-/tmp/wirestack-gocql/cql-bench-gocql}
mkdir -p "$(dirname "$OUT")"
cd "$DIR" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-/tmp/wirestack-gocql/cache} go build -o "$OUT" main.go
echo "$OUT"
