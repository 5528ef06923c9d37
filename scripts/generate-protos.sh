#!/usr/bin/env bash
# Regenerates the committed Swift code for the chat contracts in Protos/chatwire.
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift built from swift-protobuf 1.39.0:
#   git clone https://github.com/apple/swift-protobuf && cd swift-protobuf && git checkout 1.39.0
#   swift build -c release --product protoc-gen-swift
# Set PROTOC_GEN_SWIFT to the plugin path (default /work/bin/protoc-gen-swift, then $PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-/work/bin/protoc-gen-swift}"
[ -x "$plugin" ] || plugin="$(command -v protoc-gen-swift)"
out=Sources/ChatWire/Generated
mkdir -p "$out"
rm -f "$out"/*.pb.swift
protoc --plugin=protoc-gen-swift="$plugin" \
  --proto_path=Protos \
  --swift_opt=Visibility=Public \
  --swift_opt=FileNaming=DropPath \
  --swift_out="$out" \
  Protos/chatwire/*.proto
echo "generated: $(ls "$out")"
