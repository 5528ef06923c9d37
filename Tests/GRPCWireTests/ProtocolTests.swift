import NIOCore
import NIOHPACK
import Testing
import WireCore

@testable import GRPCWire

@Suite("gRPC protocol codecs")
struct ProtocolTests {
    @Test func framingWritesFlagAndBigEndianLength() throws {
        var out = ByteBuffer()
        try MessageFramer.frame(ByteBuffer(bytes: [0xAA, 0xBB, 0xCC]), into: &out)
        #expect(Array(out.readableBytesView) == [0, 0, 0, 0, 3, 0xAA, 0xBB, 0xCC])
    }

    @Test func deframerReassemblesAcrossArbitrarySplits() throws {
        var wire = ByteBuffer()
        let messages: [[UInt8]] = [[], [1], Array(repeating: 7, count: 300), [1, 2, 3]]
        for message in messages { try MessageFramer.frame(ByteBuffer(bytes: message), into: &wire) }
        let bytes = Array(wire.readableBytesView)
        for chunk in [1, 2, 3, 5, 64, bytes.count] {
            var deframer = MessageDeframer(maxMessageSize: 1024)
            var decoded: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                let end = min(index + chunk, bytes.count)
                deframer.append(ByteBuffer(bytes: bytes[index..<end]))
                index = end
                while let message = try deframer.next() { decoded.append(Array(message.readableBytesView)) }
            }
            #expect(decoded == messages)
            #expect(!deframer.hasPartialMessage)
        }
    }

    @Test func deframerRejectsOversizedMessagesBeforeBuffering() {
        var deframer = MessageDeframer(maxMessageSize: 100)
        deframer.append(ByteBuffer(bytes: [0, 0xFF, 0xFF, 0xFF, 0xFF]))
        #expect(throws: RPCError.self) { try deframer.next() }
        do {
            _ = try deframer.next()
        } catch {
            #expect(error.code == .resourceExhausted)
        }
    }

    @Test func deframerRejectsBadFlagAndUnnegotiatedCompression() {
        var bad = MessageDeframer(maxMessageSize: 100)
        bad.append(ByteBuffer(bytes: [2, 0, 0, 0, 0]))
        #expect(throws: RPCError.self) { try bad.next() }
        var compressed = MessageDeframer(maxMessageSize: 100)
        compressed.append(ByteBuffer(bytes: [1, 0, 0, 0, 1, 0]))
        do {
            _ = try compressed.next()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .internal)
        }
    }

    @Test func percentEncodingFollowsTheSpec() {
        #expect(GRPCMessageEncoding.percentEncode("plain text") == "plain text")
        #expect(GRPCMessageEncoding.percentEncode("100%") == "100%25")
        #expect(GRPCMessageEncoding.percentEncode("a\nb") == "a%0Ab")
        #expect(GRPCMessageEncoding.percentEncode("ü") == "%C3%BC")
        for text in ["", "ü∂ \u{1}%%", "日本語 ok", "%zz"] {
            #expect(GRPCMessageEncoding.percentDecode(GRPCMessageEncoding.percentEncode(text)) == text)
        }
        // Malformed escapes stay literal.
        #expect(GRPCMessageEncoding.percentDecode("%zz%4") == "%zz%4")
    }

    @Test func timeoutEncodingAndParsing() {
        #expect(GRPCTimeout.encode(.milliseconds(250)) == "250000u")
        #expect(GRPCTimeout.encode(.seconds(1)) == "1000000u")
        #expect(GRPCTimeout.encode(.seconds(200)) == "200000m")
        #expect(GRPCTimeout.encode(.seconds(3600 * 24 * 365)) == "31536000S")
        #expect(GRPCTimeout.encode(.seconds(3600 * 24 * 3650)) == "5256000M")
        #expect(GRPCTimeout.encode(.nanoseconds(5)) == "5n")
        #expect(GRPCTimeout.parse("1H") == .seconds(3600))
        #expect(GRPCTimeout.parse("2M") == .seconds(120))
        #expect(GRPCTimeout.parse("3S") == .seconds(3))
        #expect(GRPCTimeout.parse("4m") == .milliseconds(4))
        #expect(GRPCTimeout.parse("5u") == .microseconds(5))
        #expect(GRPCTimeout.parse("6n") == .nanoseconds(6))
        #expect(GRPCTimeout.parse("123456789S") == nil)
        #expect(GRPCTimeout.parse("S") == nil)
        #expect(GRPCTimeout.parse("1x") == nil)
        #expect(GRPCTimeout.parse("-1S") == nil)
        for duration: Duration in [.milliseconds(1), .seconds(59), .milliseconds(123_456)] {
            #expect(GRPCTimeout.parse(GRPCTimeout.encode(duration)) == duration)
        }
    }

    @Test func base64RoundTripsWithAndWithoutPadding() {
        for length in 0..<20 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.decode(Base64.encode(bytes, padding: false), requirePadding: false) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm8", requirePadding: false) == Array("fo".utf8))
        #expect(Base64.decode("Zm8") == nil)
        #expect(Base64.decode("Z") == nil)
        #expect(Base64.decode("Zm9v!") == nil)
    }

    @Test func statusCodesAreTheSeventeenOfTheSpec() {
        #expect(StatusCode.allCases.count == 17)
        #expect(StatusCode.allCases.map(\.rawValue) == Array(0...16))
        #expect(StatusCode(headerValue: "14") == .unavailable)
        #expect(StatusCode(headerValue: "99") == .unknown)
        #expect(StatusCode(headerValue: "x") == .unknown)
        #expect(StatusCode(httpStatus: 404) == .unimplemented)
        #expect(StatusCode(httpStatus: 503) == .unavailable)
    }

    @Test func metadataBinaryKeysAreBase64OnTheWire() throws {
        var metadata = Metadata()
        metadata.add("X-Text", "value")
        metadata.add("x-data-bin", bytes: [0, 255, 1])
        var headers = HPACKHeaders()
        metadata.write(into: &headers)
        #expect(headers.first(name: "x-text") == "value")
        #expect(headers.first(name: "x-data-bin") == "AP8B")
        headers.add(name: "grpc-status", value: "0")
        headers.add(name: ":status", value: "200")
        let decoded = try Metadata.fromHeaders(headers)
        #expect(decoded == metadata)
        var bad = HPACKHeaders()
        bad.add(name: "x-data-bin", value: "!!!")
        #expect(throws: RPCError.self) { try Metadata.fromHeaders(bad) }
    }

    @Test func requestHeadRoundTripAndRejections() throws {
        var metadata = Metadata()
        metadata.add("x-a", "1")
        let head = RequestHead(
            path: "/pkg.S/M", scheme: "http", authority: "localhost:1", timeout: .milliseconds(5),
            metadata: metadata, userAgent: "t")
        let decoded = try RequestHead.decode(head.encode())
        #expect(decoded.path == "/pkg.S/M")
        #expect(decoded.timeout == .milliseconds(5))
        #expect(decoded.metadata == metadata)
        var notGRPC = HPACKHeaders()
        notGRPC.add(name: ":method", value: "POST")
        notGRPC.add(name: ":path", value: "/x")
        notGRPC.add(name: "content-type", value: "text/plain")
        #expect(throws: RequestHead.Rejection.http(status: 415, reason: "content-type must be application/grpc")) {
            try RequestHead.decode(notGRPC)
        }
        var unknownEncoding = head.encode()
        unknownEncoding.add(name: "grpc-encoding", value: "snappy-ish")
        do {
            _ = try RequestHead.decode(unknownEncoding)
            Issue.record("expected a rejection")
        } catch {
            guard case .grpc(let rpcError) = error else { Issue.record("wrong rejection \(error)"); return }
            #expect(rpcError.code == .unimplemented)
        }
    }

    @Test func trailersRoundTripAndTrailersOnly() {
        var trailers = ResponseTrailers(error: RPCError(code: .aborted, message: "x%y", details: [1, 2]))
        trailers.metadata.add("x-t", "v")
        let encoded = trailers.encode(trailersOnly: true)
        #expect(encoded.first(name: ":status") == "200")
        #expect(encoded.first(name: "grpc-message") == "x%25y")
        let decoded = ResponseTrailers.decode(encoded)
        #expect(decoded.error == RPCError(code: .aborted, message: "x%y", metadata: ["x-t": "v"], details: [1, 2]))
        #expect(ResponseTrailers.decode(HPACKHeaders()).status.code == .internal)
    }

    @Test func responseMachineHandlesTrailersOnlyAndBadHTTPStatus() {
        var machine = ResponseStreamMachine(maxMessageSize: 100)
        var headers = HPACKHeaders()
        headers.add(name: ":status", value: "503")
        guard case .end(let trailers) = machine.receiveHeaders(headers, endStream: true) else {
            Issue.record("expected end")
            return
        }
        #expect(trailers.status.code == .unavailable)
        var other = ResponseStreamMachine(maxMessageSize: 100)
        let only = ResponseTrailers(error: RPCError(code: .notFound, message: "m")).encode(trailersOnly: true)
        guard case .end(let t2) = other.receiveHeaders(only, endStream: true) else {
            Issue.record("expected end")
            return
        }
        #expect(t2.status == Status(code: .notFound, message: "m"))
    }
}
