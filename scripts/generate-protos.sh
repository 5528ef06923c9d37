#!/bin/bash
# Regenerates the committed swift-protobuf code of GRPCWire (health service) and of its tests
# (echo service). Needs protoc (Debian protobuf-compiler) and protoc-gen-swift 1.39.0: set
# PROTOC_GEN_SWIFT, or have it at /work/bin/protoc-gen-swift, or build it from a checkout of
# swift-protobuf 1.39.0 with `swift build -c release --product protoc-gen-swift`.
set -euo pipefail
cd "$(dirname "$0")/.."
PLUGIN=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || echo /work/bin/protoc-gen-swift)}
[ -x "$PLUGIN" ] || { echo "protoc-gen-swift not found (set PROTOC_GEN_SWIFT)" >&2; exit 1; }
protoc --plugin=protoc-gen-swift="$PLUGIN" -I Protos \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
  --swift_out=Sources/GRPCWire/Health grpc/health/v1/health.proto
protoc --plugin=protoc-gen-swift="$PLUGIN" -I scripts/oracles/grpc \
  --swift_opt=Visibility=Internal \
  --swift_out=Tests/GRPCWireTests echo.proto
echo "generated Sources/GRPCWire/Health/health.pb.swift and Tests/GRPCWireTests/echo.pb.swift"
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
