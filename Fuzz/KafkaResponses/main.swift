// fuzz-modules: WireCore KafkaWire
// Decodes arbitrary bytes as a Kafka response: byte 0 picks the API, byte 1 the version, the rest is
// the response frame (correlation id, header, body). Decoding must throw or succeed, never crash;
// anything decoded must re-encode to bytes that decode and re-encode identically.
import KafkaWire
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let apis = KafkaAPI.allCases
    let api = apis[Int(data[0]) % apis.count]
    let range = api.response.versions
    let version = range.lowerBound + Int16(Int(data[1]) % (Int(range.upperBound - range.lowerBound) + 1))
    var frame = ByteBuffer(bytes: UnsafeBufferPointer(start: data + 2, count: size - 2))
    guard let decoded = try? KafkaFraming.decodeResponse(api: api, version: version, frame: &frame) else { return 0 }
    var encoded = ByteBuffer()
    guard (try? KafkaFraming.encodeResponse(api: api, version: version, correlationID: 1, body: decoded, into: &encoded)) != nil else { return 0 }
    var frame2 = encoded
    frame2.moveReaderIndex(forwardBy: 4)
    let again = try! KafkaFraming.decodeResponse(api: api, version: version, frame: &frame2)
    var reencoded = ByteBuffer()
    try! KafkaFraming.encodeResponse(api: api, version: version, correlationID: 1, body: again, into: &reencoded)
    precondition(reencoded == encoded, "re-encoded \(api) v\(version) response is not stable")
    return 0
}
