// fuzz-modules: WireCore GRPCWire ChatWire ChatServer
// libFuzzer target for the chat server's multipart/form-data upload parser (POST /api/files).
// The first byte picks the boundary length; the boundary is taken from the input, the rest is the
// body. Checks: parsing throws or succeeds, never traps; a parsed file lies inside the body and
// its name maps to an allowed content type or is refused by ChatValidation, never traps.
// Build and run with `scripts/fuzz.sh ChatMultipart <seconds>` (see Fuzz/README.md).
@testable import ChatServer
import ChatWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = Array(UnsafeBufferPointer(start: data, count: min(size, 64 * 1024)))
    guard let first = all.first else { return 0 }
    let boundaryLength = min(Int(first % 72), all.count - 1)
    let boundary = String(decoding: all[1..<(1 + boundaryLength)], as: UTF8.self)
    let body = Array(all[(1 + boundaryLength)...])
    do {
        let part = try MultipartFile.parse(body: body, boundary: boundary)
        if part.bytes.count > body.count { fatalError("the file is larger than the body") }
        if part.fileName.isEmpty { fatalError("a file part without a name was accepted") }
        _ = ChatValidation.contentType(forFileName: part.fileName)
    } catch {
        return 0
    }
    return 0
}
