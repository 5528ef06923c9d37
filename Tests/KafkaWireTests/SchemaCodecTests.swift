import NIOCore
import Testing
@testable import KafkaWire

@Suite("Schema-driven codec")
struct SchemaCodecTests {
    @Test("ApiVersions v3 request bytes match the hand-built probe (header v2, compact strings, tagged fields)")
    func apiVersionsRequestBytes() throws {
        var buffer = ByteBuffer()
        try KafkaFraming.encodeRequest(api: .apiVersions, version: 3, correlationID: 1, clientID: "probe",
                                       body: ["ClientSoftwareName": "probe", "ClientSoftwareVersion": "1.0"], into: &buffer)
        // size, key 18, version 3, correlation 1, client id int16 "probe", header tags 0, compact "probe", compact "1.0", body tags 0
        var expected: [UInt8] = [0, 18, 0, 3, 0, 0, 0, 1, 0, 5] + Array("probe".utf8) + [0]
        expected += [6] + Array("probe".utf8) + [4] + Array("1.0".utf8) + [0]
        let size = Int32(expected.count)
        expected = [UInt8(size >> 24), UInt8((size >> 16) & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size & 0xFF)] + expected
        #expect(Array(buffer.readableBytesView) == expected)
    }

    @Test("ApiVersions v3 response: header v0 even though the body is flexible; unknown tags skipped")
    func apiVersionsResponseDecode() throws {
        var b = ByteBuffer()
        b.writeInteger(Int32(7))      // correlation id (no header tags for ApiVersions)
        b.writeInteger(Int16(0))      // error
        b.writeUnsignedVarint(UInt64(3))  // 2 entries
        for (k, lo, hi) in [(Int16(0), Int16(0), Int16(11)), (Int16(1), Int16(4), Int16(17))] {
            b.writeInteger(k); b.writeInteger(lo); b.writeInteger(hi)
            b.writeUnsignedVarint(UInt64(0))
        }
        b.writeInteger(Int32(0))      // throttle
        // tagged fields: an unknown tag 9 with 3 bytes, then known tag 1 (FinalizedFeaturesEpoch = 42)
        b.writeUnsignedVarint(UInt64(2))
        b.writeUnsignedVarint(UInt64(1)); b.writeUnsignedVarint(UInt64(8)); b.writeInteger(Int64(42))
        b.writeUnsignedVarint(UInt64(9)); b.writeUnsignedVarint(UInt64(3)); b.writeBytes([1, 2, 3])
        let r = try KafkaFraming.decodeResponse(api: .apiVersions, version: 3, frame: &b)
        #expect(b.readableBytes == 0)
        #expect(r.int16("ErrorCode") == 0)
        let keys = r.structs("ApiKeys")
        #expect(keys.map { $0.int16("ApiKey") } == [0, 1])
        #expect(keys[1].int16("MinVersion") == 4 && keys[1].int16("MaxVersion") == 17)
        #expect(r.int64("FinalizedFeaturesEpoch") == 42)
    }

    @Test("Every API round-trips at every version (request and response with zero values)")
    func everyVersionRoundTrips() throws {
        for api in KafkaAPI.allCases {
            for schema in [api.request, api.response] {
                for v in schema.versions {
                    var b = ByteBuffer()
                    try KafkaSchemaCodec.encode(KafkaStruct(), schema: schema, version: v, into: &b)
                    let decoded = try KafkaSchemaCodec.decode(&b, schema: schema, version: v)
                    #expect(b.readableBytes == 0, "\(schema.name) v\(v) left bytes")
                    var b2 = ByteBuffer()
                    try KafkaSchemaCodec.encode(decoded, schema: schema, version: v, into: &b2)
                    var b3 = ByteBuffer()
                    try KafkaSchemaCodec.encode(KafkaStruct(), schema: schema, version: v, into: &b3)
                    #expect(b2 == b3, "\(schema.name) v\(v) re-encode differs")
                }
            }
        }
    }

    @Test("Metadata v1 vs v12: classic int16 strings vs compact strings, topic ids and tagged fields")
    func metadataVersions() throws {
        let body: KafkaStruct = ["Topics": .structs([["Name": "chat", "TopicId": .uuid(KafkaUUID(high: 1, low: 2))]]), "AllowAutoTopicCreation": true]
        var v1 = ByteBuffer()
        try KafkaSchemaCodec.encode(body, schema: KafkaAPI.metadata.request, version: 1, into: &v1)
        #expect(Array(v1.readableBytesView) == [0, 0, 0, 1, 0, 4] + Array("chat".utf8))
        var v12 = ByteBuffer()
        try KafkaSchemaCodec.encode(body, schema: KafkaAPI.metadata.request, version: 12, into: &v12)
        // compact array(1+1), uuid, compact nullable string, topic tags, auto-create, include-topic-authorized-ops, tags
        var expected: [UInt8] = [2] + [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2] + [5] + Array("chat".utf8) + [0]
        expected += [1, 0, 0]
        #expect(Array(v12.readableBytesView) == expected)
        let back = try KafkaSchemaCodec.decode(&v12, schema: KafkaAPI.metadata.request, version: 12)
        #expect(back.structs("Topics").first?.uuid("TopicId") == KafkaUUID(high: 1, low: 2))
        #expect(back.bool("AllowAutoTopicCreation"))
    }

    @Test("Tagged fields are written only when set, in tag order")
    func taggedFieldWritten() throws {
        var b = ByteBuffer()
        try KafkaSchemaCodec.encode(["ClusterId": "c1", "ReplicaId": -1, "MaxWaitMs": 5, "MinBytes": 1, "Topics": [], "ForgottenTopicsData": []],
                                    schema: KafkaAPI.fetch.request, version: 12, into: &b)
        let decoded = try KafkaSchemaCodec.decode(&b, schema: KafkaAPI.fetch.request, version: 12)
        #expect(decoded.string("ClusterId") == "c1")
        #expect(decoded.int32("MaxWaitMs") == 5)
    }

    @Test("Null where the version does not allow it is an encoding error; truncated input a decoding error")
    func errors() throws {
        var b = ByteBuffer()
        #expect(throws: KafkaEncodingError.nullNotAllowed("GroupId")) {
            try KafkaSchemaCodec.encode(["GroupId": .null], schema: KafkaAPI.heartbeat.request, version: 0, into: &b)
        }
        var truncated = ByteBuffer(bytes: [0, 0, 0, 5, 0])
        #expect(throws: (any Error).self) { _ = try KafkaSchemaCodec.decode(&truncated, schema: KafkaAPI.metadata.response, version: 1) }
        var hugeArray = ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: (any Error).self) { _ = try KafkaSchemaCodec.decode(&hugeArray, schema: KafkaAPI.listGroups.response, version: 0) }
    }

    @Test("Request decode of our own encoding (used by the fake broker)")
    func requestRoundTrip() throws {
        var b = ByteBuffer()
        try KafkaFraming.encodeRequest(api: .joinGroup, version: 9, correlationID: 77, clientID: "c",
                                       body: ["GroupId": "g", "SessionTimeoutMs": 6000, "MemberId": "", "ProtocolType": "consumer",
                                              "Protocols": .structs([["Name": "range", "Metadata": .bytes(ByteBuffer(bytes: [1, 2]))]])], into: &b)
        b.moveReaderIndex(forwardBy: 4)
        let (api, version, correlationID, clientID, body) = try KafkaFraming.decodeRequest(frame: &b)
        #expect(api == .joinGroup && version == 9 && correlationID == 77 && clientID == "c")
        #expect(body.string("GroupId") == "g")
        #expect(body.structs("Protocols").first?.bytes("Metadata") == ByteBuffer(bytes: [1, 2]))
        #expect(body.int32("RebalanceTimeoutMs") == -1)
    }
}
