// fuzz-modules: WireCore CQLClient
// Decodes arbitrary bytes as a RESULT body (rows metadata, type options incl. nested UDTs, tuples
// and vector custom types, prepared metadata), then decodes every cell of every row with its
// column type. Everything must throw or succeed, never trap.
import NIOCore
@testable import CQLClient

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let version: CQLProtocolVersion = data[0] & 1 == 0 ? .v4 : .v5
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data + 1, count: size - 1))
    guard let result = try? CQLResult.decode(from: &buffer, version: version) else { return 0 }
    if case .rows(let rows) = result, let columns = rows.metadata.columns {
        for row in rows.prefix(256) {
            for (i, column) in columns.enumerated() {
                if let value = try? CQLValue.decode(row.bytes(at: i), as: column.type) {
                    // re-encoding what was decoded must not trap either
                    _ = try? value.serialized(as: column.type)
                }
            }
        }
    }
    return 0
}
