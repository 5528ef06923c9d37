import ChatWire
import Testing

@Suite struct ContractTests {
    @Test func backplaneMessageOneofKeepsOnlyThePayload() throws {
        var message = Chatwire_BackplaneMessage()
        message.messageID = 42
        message.senderID = 1
        message.receiverID = 2
        message.targetUserID = 2
        message.type = .plainText
        message.status = .processed
        message.plainText = Chatwire_BackplanePlainText.with { $0.text = "hello" }
        let bytes: [UInt8] = try message.serializedBytes()
        let decoded = try Chatwire_BackplaneMessage(serializedBytes: bytes)
        #expect(decoded == message)
        guard case .plainText(let text) = decoded.messageData else {
            Issue.record("expected plain text")
            return
        }
        #expect(text.text == "hello")
    }

    @Test func clientFrameJSONUsesProto3Mapping() throws {
        let frame = try Chatwire_ClientFrame(jsonString: #"{"requestId":"7","sendPlainText":{"receiverId":"9007199254740993","text":"hi \"there\""}}"#)
        #expect(frame.requestID == 7)
        guard case .sendPlainText(let send) = frame.request else {
            Issue.record("expected sendPlainText")
            return
        }
        #expect(send.receiverID == 9_007_199_254_740_993)
        #expect(send.text == "hi \"there\"")
    }
}
