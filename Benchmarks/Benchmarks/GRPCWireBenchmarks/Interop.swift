// GRPCWire <-> grpc-swift-2 interop, both ways: each stack's client against the other's server,
// over loopback h2c, with the same cases as the grpcio interop tests (four call types, metadata and
// trailers incl. -bin, error status with percent-encoded message and details, every status code,
// deadline, cancellation, an 8 MiB message, gzip/deflate compression).
// It lives here, in the benchmark package, so grpc-swift-2 never enters the library's graph.
// Run alone: `swift run -c release GRPCWireBenchmarks interop` (exit status 1 if any case fails).
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import GRPCWire
import Logging
import Synchronization

typealias Msg = Peers_Echo_Msg

extension Peers_Echo_Msg {
    init(_ text: String, n: Int32 = 0, blob: [UInt8] = []) {
        self.init()
        self.text = text
        self.n = n
        self.blob = Data(blob)
    }
}

/// A thread-safe counter of cancellations a server observed.
final class Counter: Sendable {
    private let value = Mutex(0)
    func increment() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}

// MARK: the echo service on each stack

enum InteropEcho {
    static let service = "peers.echo.Echo"
    static func wire(_ method: String, _ kind: GRPCWire.CallKind) -> GRPCWire.MethodDescriptor<Msg, Msg> {
        GRPCWire.MethodDescriptor(service: service, method: method, kind: kind)
    }
    static func core(_ method: String) -> GRPCCore.MethodDescriptor {
        GRPCCore.MethodDescriptor(fullyQualifiedService: service, method: method)
    }
}

/// GRPCWire's echo service (the semantics of scripts/oracles/grpc/server.py).
struct WireInteropService: GRPCService {
    let cancellations: Counter

    func register(with router: inout ServiceRouter) {
        router.unary(InteropEcho.wire("Unary", .unary)) { request, context in
            context.trailingMetadata.add("x-echo-trailer", "t1")
            context.trailingMetadata.add("x-bin-bin", bytes: [0, 1])
            if let header = context.requestMetadata.first("x-echo-header") {
                context.initialMetadata.add("x-echo-header", header)
            }
            if request.text == "sleep" {
                do {
                    try await Task.sleep(for: .seconds(Int(request.n)))
                } catch {
                    cancellations.increment()
                    throw error
                }
            }
            return request
        }
        router.serverStreaming(InteropEcho.wire("ServerStream", .serverStreaming)) { request, writer, _ in
            do {
                for i in 0..<request.n { try await writer.write(Msg("\(request.text)-\(i)", n: i)) }
            } catch {
                cancellations.increment()
                throw error
            }
        }
        router.clientStreaming(InteropEcho.wire("ClientStream", .clientStreaming)) { requests, _ in
            var text = ""
            var count: Int32 = 0
            for try await message in requests {
                text += message.text
                count += 1
            }
            return Msg(text, n: count)
        }
        router.bidirectionalStreaming(InteropEcho.wire("Bidi", .bidirectionalStreaming)) { requests, writer, _ in
            for try await message in requests { try await writer.write(message) }
        }
        router.unary(InteropEcho.wire("Fail", .unary)) { request, context in
            context.trailingMetadata.add("x-fail", "yes")
            throw GRPCWire.RPCError(
                code: GRPCWire.StatusCode(rawValue: Int(request.n)) ?? .unknown, message: request.text,
                details: request.blob.isEmpty ? nil : Array(request.blob))
        }
        router.unary(InteropEcho.wire("Stats", .unary)) { [cancellations] _, _ in
            Msg("stats", n: Int32(cancellations.count))
        }
    }
}

/// grpc-swift-2's echo service, same semantics.
struct CoreInteropService: RegistrableRPCService {
    let cancellations: Counter

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let deserializer = GRPCProtobuf.ProtobufDeserializer<Msg>()
        let serializer = GRPCProtobuf.ProtobufSerializer<Msg>()
        let cancellations = self.cancellations
        router.registerHandler(forMethod: InteropEcho.core("Unary"), deserializer: deserializer, serializer: serializer) { request, _ in
            let single = try await ServerRequest(stream: request)
            var initial: GRPCCore.Metadata = [:]
            for value in single.metadata[stringValues: "x-echo-header"] { initial.addString(value, forKey: "x-echo-header") }
            var trailing: GRPCCore.Metadata = [:]
            trailing.addString("t1", forKey: "x-echo-trailer")
            trailing.addBinary([0, 1], forKey: "x-bin-bin")
            if single.message.text == "sleep" {
                do {
                    try await Task.sleep(for: .seconds(Int(single.message.n)))
                } catch {
                    cancellations.increment()
                    throw error
                }
            }
            return StreamingServerResponse(single: ServerResponse(message: single.message, metadata: initial, trailingMetadata: trailing))
        }
        router.registerHandler(forMethod: InteropEcho.core("ServerStream"), deserializer: deserializer, serializer: serializer) { request, _ in
            let single = try await ServerRequest(stream: request)
            return StreamingServerResponse { writer in
                do {
                    for i in 0..<single.message.n { try await writer.write(Msg("\(single.message.text)-\(i)", n: i)) }
                } catch {
                    cancellations.increment()
                    throw error
                }
                return [:]
            }
        }
        router.registerHandler(forMethod: InteropEcho.core("ClientStream"), deserializer: deserializer, serializer: serializer) { request, _ in
            var text = ""
            var count: Int32 = 0
            for try await message in request.messages {
                text += message.text
                count += 1
            }
            return StreamingServerResponse(single: ServerResponse(message: Msg(text, n: count)))
        }
        router.registerHandler(forMethod: InteropEcho.core("Bidi"), deserializer: deserializer, serializer: serializer) { request, _ in
            StreamingServerResponse { writer in
                for try await message in request.messages { try await writer.write(message) }
                return [:]
            }
        }
        router.registerHandler(forMethod: InteropEcho.core("Fail"), deserializer: deserializer, serializer: serializer) { request, _ in
            let single = try await ServerRequest(stream: request)
            var metadata: GRPCCore.Metadata = [:]
            metadata.addString("yes", forKey: "x-fail")
            if !single.message.blob.isEmpty {
                metadata.addBinary(Array(single.message.blob), forKey: "grpc-status-details-bin")
            }
            let code = GRPCCore.Status.Code(rawValue: Int(single.message.n)).flatMap { GRPCCore.RPCError.Code($0) } ?? .unknown
            throw GRPCCore.RPCError(code: code, message: single.message.text, metadata: metadata)
        }
        router.registerHandler(forMethod: InteropEcho.core("Stats"), deserializer: deserializer, serializer: serializer) { _, _ in
            StreamingServerResponse(single: ServerResponse(message: Msg("stats", n: Int32(cancellations.count))))
        }
    }
}

// MARK: the cases

struct InteropFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw InteropFailure(message()) }
}

/// Collects `OK <case>` / `FAIL <case>: reason` lines.
final class InteropReport: @unchecked Sendable {
    private(set) var failed = 0
    private(set) var passed = 0

    func run(_ direction: String, _ name: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            passed += 1
            print("OK \(direction) \(name)")
        } catch {
            failed += 1
            print("FAIL \(direction) \(name): \(error)")
        }
    }
}

let statusMessage = "nope: 100% ünïcode\n"
let bigBlob = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }

/// GRPCWire client -> grpc-swift-2 server.
func wireClientCases(_ client: GRPCWire.GRPCClient, serverCancellations: Counter, report: InteropReport) async {
    let d = "GRPCWire->grpc-swift-2"
    await report.run(d, "unary_metadata_trailers") {
        var options = GRPCWire.CallOptions(timeout: .seconds(10))
        options.metadata.add("x-echo-header", "h1")
        let response = try await client.unaryCall(InteropEcho.wire("Unary", .unary), Msg("hi", n: 7), options: options)
        try check(response.message.text == "hi" && response.message.n == 7, "message \(response.message)")
        try check(response.initialMetadata.first("x-echo-header") == "h1", "initial \(response.initialMetadata)")
        try check(response.trailingMetadata.first("x-echo-trailer") == "t1", "trailers \(response.trailingMetadata)")
        try check(response.trailingMetadata.firstBinary("x-bin-bin") == [0, 1], "binary trailer \(response.trailingMetadata)")
    }
    await report.run(d, "server_streaming") {
        let texts = try await client.serverStreaming(InteropEcho.wire("ServerStream", .serverStreaming), Msg("s", n: 5)) { responses in
            var texts: [String] = []
            for try await message in responses { texts.append(message.text) }
            return texts
        }
        try check(texts == ["s-0", "s-1", "s-2", "s-3", "s-4"], "\(texts)")
    }
    await report.run(d, "client_streaming") {
        let response = try await client.clientStreaming(InteropEcho.wire("ClientStream", .clientStreaming)) { writer in
            for text in ["a", "b", "c"] { try await writer.write(Msg(text)) }
        }
        try check(response.message.text == "abc" && response.message.n == 3, "\(response.message)")
    }
    await report.run(d, "bidi_streaming") {
        let texts = try await client.bidirectionalStreaming(InteropEcho.wire("Bidi", .bidirectionalStreaming)) { writer in
            for text in ["x", "y", "z"] { try await writer.write(Msg(text)) }
        } onResponse: { responses in
            var texts: [String] = []
            for try await message in responses { texts.append(message.text) }
            return texts
        }
        try check(texts == ["x", "y", "z"], "\(texts)")
    }
    await report.run(d, "error_status_details") {
        do {
            _ = try await client.unary(InteropEcho.wire("Fail", .unary), Msg(statusMessage, n: 5, blob: [9, 8, 7]))
            throw InteropFailure("no error")
        } catch let error as GRPCWire.RPCError {
            try check(error.code == .notFound, "code \(error.code)")
            try check(error.message == statusMessage, "message \(error.message.debugDescription)")
            try check(error.details == [9, 8, 7], "details \(String(describing: error.details))")
            try check(error.metadata.first("x-fail") == "yes", "metadata \(error.metadata)")
        }
    }
    await report.run(d, "all_status_codes") {
        for code in GRPCWire.StatusCode.allCases where code != .ok {
            do {
                _ = try await client.unary(InteropEcho.wire("Fail", .unary), Msg("\(code)", n: Int32(code.rawValue)))
                throw InteropFailure("no error for \(code)")
            } catch let error as GRPCWire.RPCError {
                try check(error.code == code && error.message == "\(code)", "\(code): got \(error.code) \(error.message)")
            }
        }
    }
    await report.run(d, "deadline_exceeded") {
        let start = ContinuousClock.now
        do {
            _ = try await client.unary(InteropEcho.wire("Unary", .unary), Msg("sleep", n: 30), options: .init(timeout: .milliseconds(300)))
            throw InteropFailure("no error")
        } catch let error as GRPCWire.RPCError {
            try check(error.code == .deadlineExceeded, "code \(error.code)")
        }
        try check(ContinuousClock.now - start < .seconds(10), "the deadline took too long")
    }
    await report.run(d, "large_8mib") {
        let response = try await client.unary(InteropEcho.wire("Unary", .unary), Msg("big", blob: bigBlob), options: .init(timeout: .seconds(60)))
        try check(Array(response.blob) == bigBlob, "blob mismatch (\(response.blob.count) bytes)")
    }
    for algorithm in GRPCWire.CompressionAlgorithm.supported {
        await report.run(d, "compression_\(algorithm.name)") {
            let text = String(repeating: "z", count: 10_000)
            let response = try await client.unary(InteropEcho.wire("Unary", .unary), Msg(text), options: .init(timeout: .seconds(10), compression: algorithm))
            try check(response.text == text, "echo mismatch")
        }
    }
    await report.run(d, "cancellation") {
        let before = serverCancellations.count
        let first = try await client.serverStreaming(InteropEcho.wire("ServerStream", .serverStreaming), Msg("c", n: 10_000_000)) { responses in
            var iterator = responses.makeAsyncIterator()
            return try await iterator.next()?.text
        }
        try check(first == "c-0", "first \(String(describing: first))")
        var observed = false
        for _ in 0..<500 where !observed {
            observed = serverCancellations.count > before
            if !observed { try await Task.sleep(for: .milliseconds(20)) }
        }
        try check(observed, "the grpc-swift-2 server did not observe the cancellation")
        let after = try await client.unary(InteropEcho.wire("Unary", .unary), Msg("after"), options: .init(timeout: .seconds(10)))
        try check(after.text == "after", "the connection is unusable after the cancellation")
    }
}

/// grpc-swift-2 client -> GRPCWire server.
func coreClientCases(
    _ client: GRPCCore.GRPCClient<HTTP2ClientTransport.Posix>, serverCancellations: Counter, report: InteropReport
) async {
    let d = "grpc-swift-2->GRPCWire"
    let serializer = GRPCProtobuf.ProtobufSerializer<Msg>()
    let deserializer = GRPCProtobuf.ProtobufDeserializer<Msg>()
    var defaults = GRPCCore.CallOptions.defaults
    defaults.maxResponseMessageBytes = 16 << 20
    // grpc-swift-nio-transport 2.9.2 applies this limit to the messages its client decodes.
    defaults.maxRequestMessageBytes = 16 << 20
    defaults.timeout = .seconds(10)
    let options = defaults
    func unary(_ method: String, _ message: Msg, metadata: GRPCCore.Metadata = [:], options: GRPCCore.CallOptions = options)
        async throws -> GRPCCore.ClientResponse<Msg>
    {
        try await client.unary(
            request: ClientRequest(message: message, metadata: metadata), descriptor: InteropEcho.core(method),
            serializer: serializer, deserializer: deserializer, options: options) { $0 }
    }
    await report.run(d, "unary_metadata_trailers") {
        var metadata: GRPCCore.Metadata = [:]
        metadata.addString("h1", forKey: "x-echo-header")
        let response = try await unary("Unary", Msg("hi", n: 7), metadata: metadata)
        let message = try response.message
        try check(message.text == "hi" && message.n == 7, "message \(message)")
        try check(Array(response.metadata[stringValues: "x-echo-header"]) == ["h1"], "initial \(response.metadata)")
        try check(Array(response.trailingMetadata[stringValues: "x-echo-trailer"]) == ["t1"], "trailers \(response.trailingMetadata)")
        try check(Array(response.trailingMetadata[binaryValues: "x-bin-bin"]) == [[0, 1]], "binary trailer \(response.trailingMetadata)")
    }
    await report.run(d, "server_streaming") {
        let texts = try await client.serverStreaming(
            request: ClientRequest(message: Msg("s", n: 5)), descriptor: InteropEcho.core("ServerStream"),
            serializer: serializer, deserializer: deserializer, options: options
        ) { response in
            var texts: [String] = []
            for try await message in response.messages { texts.append(message.text) }
            return texts
        }
        try check(texts == ["s-0", "s-1", "s-2", "s-3", "s-4"], "\(texts)")
    }
    await report.run(d, "client_streaming") {
        let message = try await client.clientStreaming(
            request: StreamingClientRequest { writer in
                for text in ["a", "b", "c"] { try await writer.write(Msg(text)) }
            },
            descriptor: InteropEcho.core("ClientStream"), serializer: serializer, deserializer: deserializer, options: options
        ) { try $0.message }
        try check(message.text == "abc" && message.n == 3, "\(message)")
    }
    await report.run(d, "bidi_streaming") {
        let texts = try await client.bidirectionalStreaming(
            request: StreamingClientRequest { writer in
                for text in ["x", "y", "z"] { try await writer.write(Msg(text)) }
            },
            descriptor: InteropEcho.core("Bidi"), serializer: serializer, deserializer: deserializer, options: options
        ) { response in
            var texts: [String] = []
            for try await message in response.messages { texts.append(message.text) }
            return texts
        }
        try check(texts == ["x", "y", "z"], "\(texts)")
    }
    await report.run(d, "error_status_details") {
        let response = try await unary("Fail", Msg(statusMessage, n: 5, blob: [9, 8, 7]))
        guard case .failure(let error) = response.accepted else { throw InteropFailure("no error") }
        try check(error.code == .notFound, "code \(error.code)")
        try check(error.message == statusMessage, "message \(error.message.debugDescription)")
        try check(Array(error.metadata[binaryValues: "grpc-status-details-bin"]) == [[9, 8, 7]], "details in \(error.metadata)")
        try check(Array(error.metadata[stringValues: "x-fail"]) == ["yes"], "metadata \(error.metadata)")
    }
    await report.run(d, "all_status_codes") {
        for raw in 1...16 {
            let response = try await unary("Fail", Msg("code \(raw)", n: Int32(raw)))
            guard case .failure(let error) = response.accepted else { throw InteropFailure("no error for \(raw)") }
            try check(error.code.rawValue == raw && error.message == "code \(raw)", "\(raw): got \(error.code) \(error.message)")
        }
    }
    await report.run(d, "deadline_exceeded") {
        var short = options
        short.timeout = .milliseconds(300)
        do {
            let response = try await unary("Unary", Msg("sleep", n: 30), options: short)
            guard case .failure(let error) = response.accepted else { throw InteropFailure("no error") }
            try check(error.code == .deadlineExceeded, "code \(error.code)")
        } catch let error as GRPCCore.RPCError {
            // grpc-swift-2 throws a deadline it enforces itself.
            try check(error.code == .deadlineExceeded, "code \(error.code)")
        }
    }
    await report.run(d, "large_8mib") {
        var long = options
        long.timeout = .seconds(60)
        let message = try await unary("Unary", Msg("big", blob: bigBlob), options: long).message
        try check(Array(message.blob) == bigBlob, "blob mismatch (\(message.blob.count) bytes)")
    }
    for (name, algorithm) in [("gzip", GRPCCore.CompressionAlgorithm.gzip), ("deflate", .deflate)] {
        await report.run(d, "compression_\(name)") {
            var compressed = options
            compressed.compression = algorithm
            let text = String(repeating: "z", count: 10_000)
            let message = try await unary("Unary", Msg(text), options: compressed).message
            try check(message.text == text, "echo mismatch")
        }
    }
    await report.run(d, "cancellation") {
        let before = serverCancellations.count
        var long = options
        long.timeout = .seconds(60)
        let first = try await client.serverStreaming(
            request: ClientRequest(message: Msg("c", n: 10_000_000)), descriptor: InteropEcho.core("ServerStream"),
            serializer: serializer, deserializer: deserializer, options: long
        ) { response -> String? in
            for try await message in response.messages { return message.text }
            return nil
        }
        try check(first == "c-0", "first \(String(describing: first))")
        var observed = false
        for _ in 0..<500 where !observed {
            observed = serverCancellations.count > before
            if !observed { try await Task.sleep(for: .milliseconds(20)) }
        }
        try check(observed, "the GRPCWire server did not observe the cancellation")
        let after = try await unary("Unary", Msg("after")).message
        try check(after.text == "after", "the connection is unusable after the cancellation")
    }
}

/// Starts both servers and runs every case both ways; returns the number of failures.
func runInterop(logger: Logger) async throws -> Int {
    let wireCancellations = Counter()
    let coreCancellations = Counter()
    var wireConfiguration = GRPCWire.GRPCServer.Configuration(host: "127.0.0.1", port: 0)
    wireConfiguration.maxReceiveMessageSize = 16 << 20
    let wireServer = GRPCWire.GRPCServer(
        configuration: wireConfiguration, services: [WireInteropService(cancellations: wireCancellations)], logger: logger)
    let wireServing = Task { try await wireServer.run() }
    let wirePort = try await wireServer.listeningPort()

    var coreConfig = HTTP2ServerTransport.Posix.Config.defaults
    coreConfig.rpc.maxRequestPayloadSize = 16 << 20
    coreConfig.compression = .init(enabledAlgorithms: .all)
    let coreServer = GRPCCore.GRPCServer(
        transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext, config: coreConfig),
        services: [CoreInteropService(cancellations: coreCancellations)])
    let coreServing = Task { try await coreServer.serve() }
    guard let corePort = try await coreServer.listeningAddress?.ipv4?.port else { throw InteropFailure("grpc-swift-2 server did not bind") }

    let report = InteropReport()
    var wireClientConfiguration = GRPCWire.GRPCClient.Configuration(host: "127.0.0.1", port: corePort)
    wireClientConfiguration.maxReceiveMessageSize = 16 << 20
    let wireClient = GRPCWire.GRPCClient(configuration: wireClientConfiguration, logger: logger)
    await wireClientCases(wireClient, serverCancellations: coreCancellations, report: report)
    await wireClient.close()

    var clientConfig = HTTP2ClientTransport.Posix.Config.defaults
    clientConfig.compression = .init(algorithm: .none, enabledAlgorithms: .all)
    try await withGRPCClient(
        transport: try .http2NIOPosix(
            target: .ipv4(address: "127.0.0.1", port: wirePort), transportSecurity: .plaintext, config: clientConfig)
    ) { client in
        await coreClientCases(client, serverCancellations: wireCancellations, report: report)
    }

    wireServer.beginGracefulShutdown()
    coreServer.beginGracefulShutdown()
    _ = await wireServing.result
    _ = await coreServing.result
    print("interop: \(report.passed) passed, \(report.failed) failed")
    return report.failed
}
