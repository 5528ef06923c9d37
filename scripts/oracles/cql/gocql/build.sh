#!/bin/bash
# Builds the gocql program (GOPATH mode, Debian packages golang-go golang-github-gocql-gocql-dev)
# and prints its path:   scripts/oracles/cql/gocql/build.sh [OUT]
set -euo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-/tmp/wirestack-gocql/gocql-chat}
mkdir -p "$(dirname "$OUT")"
cd "$DIR" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-/tmp/wirestack-gocql/cache} go build -o "$OUT" main.go
echo "$OUT"
