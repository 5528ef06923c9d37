// fuzz-modules: WireCore
// fuzz-include: ../Shared/DecompressorHarness.swift
// Decodes arbitrary bytes with `GzipCodec()` (see Fuzz/Shared/DecompressorHarness.swift).
import WireCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzDecompressor(GzipCodec(), data, size)
}
