// fuzz-modules: WireCore
// fuzz-include: ../Shared/DecompressorHarness.swift
// Decodes arbitrary bytes with `DeflateCodec(format: .raw)` (see Fuzz/Shared/DecompressorHarness.swift).
import WireCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzDecompressor(DeflateCodec(format: .raw), data, size)
}
