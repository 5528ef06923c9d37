#!/bin/bash
# Regenerates the committed swift-protobuf code: GRPCWire's health service, its tests' echo
# service, and the chat contracts in Protos/chatwire. Run once after changing a .proto; the output
# is committed (nothing is generated at build time).
# Needs protoc (Debian protobuf-compiler) and protoc-gen-swift 1.39.0: set PROTOC_GEN_SWIFT, or have
# it on $PATH or at /work/bin/protoc-gen-swift, or build it from a checkout of swift-protobuf 1.39.0
# with `swift build -c release --product protoc-gen-swift`.
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
# The benchmark package (its own SwiftPM package, which cannot reach into Tests/) gets the same
# generated echo messages from the same .proto.
protoc --plugin=protoc-gen-swift="$PLUGIN" -I scripts/oracles/grpc \
  --swift_opt=Visibility=Internal \
  --swift_out=Benchmarks/Benchmarks/GRPCWireBenchmarks echo.proto

out=Sources/ChatWire/Generated
mkdir -p "$out"
rm -f "$out"/*.pb.swift
protoc --plugin=protoc-gen-swift="$PLUGIN" --proto_path=Protos \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
  --swift_out="$out" Protos/chatwire/*.proto
echo "generated Sources/GRPCWire/Health, Tests/GRPCWireTests/echo.pb.swift, Benchmarks/Benchmarks/GRPCWireBenchmarks/echo.pb.swift, $out"
