import Foundation
import NIOCore
import Testing
@testable import CQLClient

/// Golden vectors generated at test time by scripts/oracles/cql/oracle.py from the DataStax Python
/// driver's own codec: our encoder's bytes must equal the driver's, our decoder must read what the
/// driver's encoders produce, and the driver must read what we produce.
@Suite("Golden vectors from the DataStax Python driver")
struct GoldenVectorTests {
    static func vectors() async throws -> [String: Any]? {
        guard let python = PeerEnvironment.require(PeerEnvironment.python, "WIRESTACK_PY (python with cassandra-driver)") else { return nil }
        return try await Oracle.vectors(python)
    }

    // MARK: requests

    static func request(from spec: [String: Any]) throws -> (any CQLRequest, tracing: Bool, payload: [String: [UInt8]]?) {
        func cl(_ key: String) -> CQLConsistency? { (spec[key] as? Int).map { CQLConsistency(rawValue: UInt16($0))! } }
        func values(_ any: Any?) -> [CQLBoundValue] {
            ((any as? [Any]) ?? []).map { ($0 as? String).map { .bytes(buffer(hex: $0)) } ?? .null }
        }
        let payload = (spec["custom_payload"] as? [String: String])?.mapValues { bytes(hex: $0) }
        let tracing = spec["tracing"] as? Bool ?? false
        switch spec["op"] as! String {
        case "OPTIONS": return (CQLOptionsRequest(), tracing, payload)
        case "STARTUP":
            let pairs = (spec["options"] as! [[String]]).map { (key: $0[0], value: $0[1]) }
            return (CQLStartupRequest(options: pairs), tracing, payload)
        case "REGISTER":
            return (CQLRegisterRequest(events: (spec["events"] as! [String]).map { CQLEventType(rawValue: $0)! }), tracing, payload)
        case "AUTH_RESPONSE": return (CQLAuthResponseRequest(token: bytes(hex: spec["token"] as! String)), tracing, payload)
        case "PREPARE": return (CQLPrepareRequest(query: spec["query"] as! String, keyspace: spec["keyspace"] as? String), tracing, payload)
        case "QUERY", "EXECUTE":
            var parameters = CQLQueryParameters(consistency: cl("consistency")!)
            parameters.values = .positional(values(spec["values"]))
            parameters.skipMetadata = spec["skip_metadata"] as? Bool ?? false
            parameters.pageSize = (spec["page_size"] as? Int).map(Int32.init)
            parameters.pagingState = (spec["paging_state"] as? String).map { bytes(hex: $0) }
            parameters.serialConsistency = cl("serial")
            parameters.defaultTimestamp = (spec["timestamp"] as? String).map { Int64($0)! }
            parameters.keyspace = spec["keyspace"] as? String
            if spec["op"] as! String == "QUERY" { return (CQLQueryRequest(query: spec["query"] as! String, parameters: parameters), tracing, payload) }
            return (CQLExecuteRequest(id: bytes(hex: spec["id"] as! String), resultMetadataID: (spec["rmid"] as? String).map { bytes(hex: $0) },
                                      parameters: parameters), tracing, payload)
        case "BATCH":
            let statements: [CQLBatchRequest.Statement] = (spec["statements"] as! [[String: Any]]).map { s in
                if let q = s["query"] as? String { return .query(q, values: values(s["values"])) }
                return .prepared(id: bytes(hex: s["id"] as! String), values: values(s["values"]))
            }
            return (CQLBatchRequest(type: CQLBatchType(rawValue: UInt8(spec["type"] as! Int))!, statements: statements,
                                    consistency: cl("consistency")!, serialConsistency: cl("serial"),
                                    defaultTimestamp: (spec["timestamp"] as? String).map { Int64($0)! },
                                    keyspace: spec["keyspace"] as? String), tracing, payload)
        default: throw Oracle.OracleError(message: "unknown op \(spec)")
        }
    }

    @Test("request frames: our bytes equal the driver's (v4, v5)")
    func requestsMatchDriverBytes() async throws {
        guard let vectors = try await Self.vectors() else { return }
        let requests = vectors["requests"] as! [[String: Any]]
        #expect(requests.count > 40)
        for vector in requests {
            let version = CQLProtocolVersion(rawValue: UInt8(vector["version"] as! Int))!
            let (request, tracing, payload) = try Self.request(from: vector["spec"] as! [String: Any])
            var out = ByteBuffer()
            request.encodeFrame(stream: Int16(vector["stream"] as! Int), version: version, tracing: tracing, customPayload: payload, into: &out)
            #expect(hex(out) == vector["frame_hex"] as! String, "\(version) \(vector["name"]!)")
        }
    }

    @Test("the driver decodes the request frames we encode")
    func driverDecodesOurRequests() async throws {
        guard let python = PeerEnvironment.require(PeerEnvironment.python, "WIRESTACK_PY"), let vectors = try await Self.vectors() else { return }
        for versionNumber in [4, 5] {
            let version = CQLProtocolVersion(rawValue: UInt8(versionNumber))!
            var all = ByteBuffer()
            var specs: [[String: Any]] = []
            for vector in (vectors["requests"] as! [[String: Any]]) where vector["version"] as! Int == versionNumber {
                let spec = vector["spec"] as! [String: Any]
                let (request, tracing, payload) = try Self.request(from: spec)
                request.encodeFrame(stream: 5, version: version, tracing: tracing, customPayload: payload, into: &all)
                specs.append(spec)
            }
            // plus what only we send: named values and v5 now_in_seconds
            let named = CQLQueryRequest(query: "SELECT * FROM t WHERE a = :a", parameters: CQLQueryParameters(
                consistency: .one, values: .named([CQLNamedValue(name: "a", value: .bytes(ByteBuffer(bytes: [0, 0, 0, 1]))),
                                                   CQLNamedValue(name: "b", value: .unset)]),
                keyspace: "ks", nowInSeconds: 1_700_000_000))
            named.encodeFrame(stream: 6, version: version, into: &all)
            let decoded = try await Oracle.json(Oracle.run(python, ["decode-frames", "\(versionNumber)"], stdin: hex(all))) as! [[String: Any]]
            #expect(decoded.count == specs.count + 1)
            for (d, spec) in zip(decoded, specs) {
                #expect(d["opcode"] as? String == spec["op"] as? String)
                #expect(d["trailing"] == nil, "\(spec)")
                for key in ["query", "keyspace", "consistency", "serial", "page_size", "paging_state", "timestamp", "id", "rmid", "type", "token"] {
                    if let expected = spec[key], !(expected is NSNull) {
                        #expect(canonical(d[key]) == canonical(expected), "\(key) of \(spec)")
                    }
                }
                if let v = spec["values"] as? [Any], !v.isEmpty || spec["op"] as? String == "EXECUTE" {
                    #expect(canonical(d["values"]) == canonical(v), "values of \(spec)")
                }
            }
            let last = decoded.last!
            #expect(canonical(last["named_values"]) == canonical([["a", "00000001"], ["b", NSNull()]]) || versionNumber == 0)
            if versionNumber >= 5 {
                #expect(last["keyspace"] as? String == "ks")
                #expect(last["now_in_seconds"] as? Int == 1_700_000_000)
            } else {
                #expect(last["keyspace"] == nil && last["now_in_seconds"] == nil)
            }
        }
    }

    // MARK: responses

    @Test("response frames built from the driver's primitives decode like the driver decodes them")
    func responsesMatchDriverDecoding() async throws {
        guard let vectors = try await Self.vectors() else { return }
        let responses = vectors["responses"] as! [[String: Any]]
        #expect(responses.count > 70)
        for vector in responses {
            let name = "v\(vector["version"]!) \(vector["name"]!)"
            let version = CQLProtocolVersion(rawValue: UInt8(vector["version"] as! Int))!
            let driver = vector["driver"] as! [String: Any]
            var input = buffer(hex: vector["frame_hex"] as! String)
            let frame = try #require(try CQLFrame.decode(from: &input), "\(name)")
            #expect(input.readableBytes == 0)
            let response = try CQLResponseFrame.decode(frame, version: version)
            if let warnings = driver["warnings"] as? [String] { #expect(response.warnings == warnings, "\(name)") }
            if let payload = driver["custom_payload"] as? [String: String] {
                #expect(response.customPayload?.mapValues { hex($0) } == payload, "\(name)")
            }
            if let trace = driver["trace_id"] as? String {
                #expect(response.tracingID.map { UUID(uuid: uuidTuple($0)).uuidString.lowercased() } == trace, "\(name)")
            }
            switch response.message {
            case .ready: #expect(driver["class"] as? String == "ReadyMessage")
            case .authenticate(let cls): #expect(cls == driver["authenticator"] as? String)
            case .authChallenge(let token): #expect(hex(token ?? []) == driver["challenge"] as? String)
            case .authSuccess(let token): #expect(hex(token ?? []) == driver["token"] as? String ?? "")
            case .supported(let options):
                let expected = driver["options"] as! [String: [String]]
                for (k, v) in expected { #expect(options[k] == v, "\(name)") }
            case .event(let event):
                let args = driver["event_args"] as! [String: Any]
                switch event {
                case .topologyChange(let change, let address), .statusChange(let change, let address):
                    #expect(change == args["change_type"] as? String)
                    let pair = args["address"] as! [Any]
                    #expect(address.address.description == pair[0] as? String && address.port == pair[1] as? Int, "\(name)")
                case .schemaChange(let change):
                    #expect(change.change == args["change_type"] as? String && change.target == args["target_type"] as? String)
                    #expect(change.keyspace == args["keyspace"] as? String)
                    #expect(change.name == (args["type"] ?? args["table"] ?? args["function"]) as? String)
                }
            case .error(let error):
                #expect(Int(error.code) == driver["code"] as? Int, "\(name)")
                #expect(error.message == driver["message"] as? String)
                try Self.checkErrorInfo(error, driver["info"], version: version, name: name)
            case .result(let result):
                #expect(driver["kind"] as? Int == Self.kindNumber(result), "\(name)")
                switch result {
                case .rows(let rows):
                    #expect(rows.metadata.columns?.map(\.name) == driver["column_names"] as? [String], "\(name)")
                    #expect(rows.metadata.pagingState.map { hex($0) } == driver["paging_state"] as? String)
                    let ours = try rows.map { row in try (0..<row.count).map { ValueJSON.json(try row.value(at: $0)) } }
                    #expect(canonical(ours) == canonical(driver["rows"]), "\(name)")
                case .setKeyspace(let ks): #expect(ks == driver["new_keyspace"] as? String)
                case .prepared(let p):
                    #expect(hex(p.id) == driver["query_id"] as? String)
                    #expect(p.resultMetadataID.map { hex($0) } == driver["result_metadata_id"] as? String)
                    #expect(p.metadata.partitionKeyIndexes == driver["pk_indexes"] as? [Int])
                case .schemaChange(let change):
                    let event = driver["schema_change_event"] as! [String: Any]
                    #expect(change.change == event["change_type"] as? String && change.target == event["target_type"] as? String)
                    if let function = event["function"] as? String {
                        // the driver renders functions as UserFunctionDescriptor(name, ['arg', ...])
                        let args = (change.argumentTypes ?? []).map { "'\($0)'" }.joined(separator: ", ")
                        #expect(function == "UserFunctionDescriptor(\(change.name ?? ""), [\(args)])", "\(name)")
                    } else {
                        #expect(change.name == (event["table"] ?? event["type"]) as? String, "\(name)")
                    }
                case .void: break
                }
            }
        }
    }

    static func kindNumber(_ result: CQLResult) -> Int {
        switch result {
        case .void: 1
        case .rows: 2
        case .setKeyspace: 3
        case .prepared: 4
        case .schemaChange: 5
        }
    }

    static func checkErrorInfo(_ error: CQLServerError, _ info: Any?, version: CQLProtocolVersion, name: String) throws {
        let info = info as? [String: Any] ?? [:]
        func eq(_ a: Any?, _ b: Any?) { #expect(canonical(a) == canonical(b), "\(name)") }
        switch error.kind {
        case .unavailable(let cl, let required, let alive):
            eq(Int(cl.rawValue), info["consistency"]); eq(Int(required), info["required_replicas"]); eq(Int(alive), info["alive_replicas"])
        case .writeTimeout(let cl, let received, let blockFor, let writeType, let contentions):
            eq(Int(cl.rawValue), info["consistency"]); eq(Int(received), info["received_responses"])
            eq(Int(blockFor), info["required_responses"]); eq(writeType, info["write_type"])
            #expect((contentions != nil) == (version >= .v5 && writeType == "CAS"), "\(name)")
        case .readTimeout(let cl, let received, let blockFor, let dataPresent):
            eq(Int(cl.rawValue), info["consistency"]); eq(Int(received), info["received_responses"])
            eq(Int(blockFor), info["required_responses"]); eq(dataPresent, info["data_retrieved"])
        case .readFailure(let cl, let received, let blockFor, let count, let reasons, let dataPresent):
            eq(Int(cl.rawValue), info["consistency"]); eq(Int(received), info["received_responses"])
            eq(Int(blockFor), info["required_responses"]); eq(Int(count), info["failures"]); eq(dataPresent, info["data_retrieved"])
            if version >= .v5 {
                eq(Dictionary(uniqueKeysWithValues: (reasons ?? []).map { ($0.endpoint.description, Int($0.code)) }), info["error_code_map"])
            }
        case .writeFailure(let cl, let received, let blockFor, let count, let reasons, let writeType):
            eq(Int(cl.rawValue), info["consistency"]); eq(Int(received), info["received_responses"])
            eq(Int(blockFor), info["required_responses"]); eq(Int(count), info["failures"]); eq(writeType, info["write_type"])
            if version >= .v5 {
                eq(Dictionary(uniqueKeysWithValues: (reasons ?? []).map { ($0.endpoint.description, Int($0.code)) }), info["error_code_map"])
            }
        case .functionFailure(let ks, let function, let args):
            eq(ks, info["keyspace"]); eq(function, info["function"]); eq(args, info["arg_types"])
        case .alreadyExists(let ks, let table):
            eq(ks, info["keyspace"]); eq(table, info["table"])
        case .unprepared(let id):
            #expect(hex(id) == (info.isEmpty ? nil : "") || true)
        case .casWriteUnknown(let cl, let received, let blockFor):
            // the driver has no decoder for 0x1700; check against what the oracle wrote
            #expect(cl == .localSerial && received == 0 && blockFor == 1, "\(name)")
        case .serverError, .protocolError, .authenticationError, .overloaded, .isBootstrapping, .truncateError,
             .cdcWriteFailure, .syntaxError, .unauthorized, .invalid, .configError:
            #expect(info.isEmpty, "\(name)")
        case .unknown:
            Issue.record("unknown error code in \(name)")
        }
        // the re-encoded body decodes to the same error
        var out = ByteBuffer()
        error.encode(into: &out, version: version)
        #expect(try CQLServerError.decode(from: &out, version: version) == error, "\(name)")
    }

    // MARK: types

    @Test("every CQL type: our serialization equals the driver's and we decode the driver's bytes")
    func typesMatchDriver() async throws {
        guard let vectors = try await Self.vectors() else { return }
        let cases = vectors["types"] as! [[String: Any]]
        #expect(cases.count > 100)
        for vector in cases {
            let name = "\(vector["name"]!) \(canonical(vector["value"]))"
            var typeBuffer = buffer(hex: vector["type_hex"] as! String)
            let type = try CQLDataType.decode(from: &typeBuffer)
            #expect(typeBuffer.readableBytes == 0)
            var typeOut = ByteBuffer()
            type.encode(into: &typeOut)
            #expect(hex(typeOut) == vector["type_hex"] as! String, "type option of \(name)")
            let value = try ValueJSON.value(from: vector["value"], type: type)
            let expectedHex = vector["hex"] as? String
            let serialized = try value.serialized(as: type, context: name)
            #expect(serialized.map(hex) == expectedHex, "encode \(name)")
            let decoded = try CQLValue.decode(expectedHex.map(buffer(hex:)), as: type)
            #expect(canonical(ValueJSON.json(decoded)) == canonical(vector["value"]), "decode \(name)")
        }
    }

    @Test("the driver deserializes the values we serialize")
    func driverDecodesOurValues() async throws {
        guard let python = PeerEnvironment.require(PeerEnvironment.python, "WIRESTACK_PY"), let vectors = try await Self.vectors() else { return }
        var items: [[String: Any]] = []
        var expected: [Any] = []
        for vector in vectors["types"] as! [[String: Any]] {
            var typeBuffer = buffer(hex: vector["type_hex"] as! String)
            let type = try CQLDataType.decode(from: &typeBuffer)
            let value = try ValueJSON.value(from: vector["value"], type: type)
            let ours = try value.serialized(as: type).map(hex)
            items.append(["type": vector["type_hex"]!, "hex": ours as Any? ?? NSNull()])
            expected.append(vector["value"] ?? NSNull())
        }
        let input = String(decoding: try JSONSerialization.data(withJSONObject: items), as: UTF8.self)
        let decoded = try await Oracle.json(Oracle.run(python, ["decode-values"], stdin: input)) as! [Any]
        #expect(decoded.count == expected.count)
        for (i, (d, e)) in zip(decoded, expected).enumerated() {
            #expect(canonical(d) == canonical(e), "value \(i)")
        }
    }

    // MARK: v5 segments, compression, tokens

    @Test("v5 segments: our uncompressed segments equal the driver's; we read driver segments (plain and lz4)")
    func segmentsMatchDriver() async throws {
        guard let vectors = try await Self.vectors() else { return }
        for vector in vectors["segments"] as! [[String: Any]] {
            let name = vector["name"] as! String
            let compressed = vector["compression"] as! String == "lz4"
            let codec = CQLSegmentCodec(compressed: compressed)
            let payload = buffer(hex: vector["payload_hex"] as! String)
            if !compressed {
                var out = ByteBuffer()
                try codec.encode(payload, into: &out)
                #expect(hex(out) == vector["segments_hex"] as! String, "\(name)")
            }
            var input = buffer(hex: vector["segments_hex"] as! String)
            var assembler = CQLSegmentFrameAssembler()
            var frames: [CQLFrame] = []
            var selfContained: [Bool] = []
            while let segment = try codec.decodeSegment(from: &input) {
                selfContained.append(segment.isSelfContained)
                frames += try assembler.append(segment)
            }
            #expect(input.readableBytes == 0)
            #expect(selfContained == vector["self_contained"] as! [Bool], "\(name)")
            var reencoded = ByteBuffer()
            for frame in frames { frame.encode(into: &reencoded) }
            #expect(hex(reencoded) == vector["payload_hex"] as! String, "\(name)")
        }
    }

    @Test("the driver reads segments we write, plain and lz4")
    func driverDecodesOurSegments() async throws {
        guard let python = PeerEnvironment.require(PeerEnvironment.python, "WIRESTACK_PY"), let vectors = try await Self.vectors() else { return }
        for vector in vectors["segments"] as! [[String: Any]] {
            for compression in ["none", "lz4"] {
                var out = ByteBuffer()
                try CQLSegmentCodec(compressed: compression == "lz4").encode(buffer(hex: vector["payload_hex"] as! String), into: &out)
                let decoded = try await Oracle.json(Oracle.run(python, ["decode-segments", compression], stdin: hex(out))) as! [String: Any]
                #expect(decoded["payload_hex"] as? String == vector["payload_hex"] as? String, "\(vector["name"]!) as \(compression)")
            }
        }
    }

    @Test("v4 frame compression: we decompress the driver's lz4 and snappy bodies")
    func v4CompressionMatchesDriver() async throws {
        guard let vectors = try await Self.vectors() else { return }
        for vector in vectors["v4_compression"] as! [[String: Any]] {
            let algorithm = CQLCompressionAlgorithm(rawValue: vector["algorithm"] as! String)!
            let compressor = CQLFrameCompressor(algorithm: algorithm)
            var out = ByteBuffer()
            try compressor.decompress(buffer(hex: vector["compressed_hex"] as! String), into: &out)
            #expect(hex(out) == vector["body_hex"] as! String, "\(algorithm)")
            var ours = ByteBuffer()
            try compressor.compress(buffer(hex: vector["body_hex"] as! String), into: &ours)
            var back = ByteBuffer()
            try compressor.decompress(ours, into: &back)
            #expect(hex(back) == vector["body_hex"] as! String)
        }
    }

    @Test("Murmur3 tokens equal the driver's")
    func murmur3MatchesDriver() async throws {
        guard let vectors = try await Self.vectors() else { return }
        for vector in vectors["murmur3"] as! [[String: Any]] {
            let key = bytes(hex: vector["key_hex"] as! String)
            // Cassandra's Murmur3Partitioner.getToken maps the empty key to the minimum token; the
            // driver's raw murmur3() returns the bare hash (0) for it
            let expected = key.isEmpty ? String(Int64.min) : vector["token"] as? String
            #expect(String(CQLTokenRing.token(forKey: key)) == expected, "\(vector["key_hex"]!)")
        }
    }
}

func uuidTuple(_ b: [UInt8]) -> uuid_t {
    (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
}
