// fuzz-modules: WireCore GRPCWire ChatWire ChatServer
// libFuzzer target for the chat server's WebSocket frame decoding (proto3 JSON text frames and
// protobuf binary frames, at most WebSocketEndpoint.maxFrame bytes) and the validation rules the
// decoded requests then go through. Checks: decoding throws or succeeds, never traps; a decoded
// frame survives the binary round trip unchanged and the JSON round trip with the same JSON.
// Build and run with `scripts/fuzz.sh ChatWebSocketFrame <seconds>` (see Fuzz/README.md).
import ChatWire
import NIOCore
@testable import ChatServer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let all = UnsafeBufferPointer(start: data, count: size)
    guard let first = all.first else { return 0 }
    let bytes = all[1..<min(size, WebSocketEndpoint.maxFrame + 1)]
    let frame: Chatwire_ClientFrame
    do {
        if first & 1 == 0 {
            frame = try WebSocketEndpoint.decodeFrame(text: String(decoding: bytes, as: UTF8.self))
        } else {
            frame = try WebSocketEndpoint.decodeFrame(binary: ByteBuffer(bytes: bytes))
        }
    } catch {
        return 0
    }
    // Round trips.
    do {
        // proto3 JSON has no place for unknown fields (binary frames may carry them), so the JSON
        // round trip is compared as JSON: encode, decode, encode again gives the same text.
        let json = try frame.jsonString()
        let again = try Chatwire_ClientFrame(jsonString: json)
        let json2 = try again.jsonString()
        if json2 != json { fatalError("JSON round trip changed the frame: \(json) -> \(json2)") }
        let binary: [UInt8] = try frame.serializedBytes()
        let back = try Chatwire_ClientFrame(serializedBytes: binary)
        if back != frame { fatalError("binary round trip changed the frame") }
    } catch {
        fatalError("a decoded frame failed to re-encode: \(error)")
    }
    // The validation every request goes through (lengths, IDs) must not trap on any string.
    switch frame.request {
    case .sendPlainText(let r):
        _ = ChatValidation.userID(r.receiverID, property: "receiverId") + ChatValidation.messageText(r.text)
    case .sendFile(let r):
        _ = ChatValidation.fileText(r.text) + ChatValidation.bucket(r.bucket) + ChatValidation.path(r.path)
    case .react(let r):
        _ = ChatValidation.reaction(r.reaction) + ChatValidation.userID(r.messageID, property: "messageId")
        _ = ChatID(r.senderID, r.receiverID).description
    case .unReact(let r):
        _ = ChatID(r.senderID, r.receiverID).contains(r.messageID)
    case .ack(let r):
        _ = ChatValidation.userID(r.senderID, property: "senderId")
    case .none:
        break
    }
    return 0
}
