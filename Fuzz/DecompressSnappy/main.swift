// fuzz-modules: WireCore
// fuzz-include: ../Shared/DecompressorHarness.swift
// Decodes arbitrary bytes with `SnappyRawCodec()` (see Fuzz/Shared/DecompressorHarness.swift).
import WireCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzDecompressor(SnappyRawCodec(), data, size)
}
