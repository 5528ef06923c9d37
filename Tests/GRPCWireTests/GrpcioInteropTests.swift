import Foundation
import GRPCWire
import WireCore
import Synchronization
import Testing

/// Text collected from a process's output, thread-safe.
final class OutputBuffer: Sendable {
    private let text = Mutex("")
    func append(_ more: String) { text.withLock { $0 += more } }
    func withLock<T>(_ body: (inout String) -> T) -> T { text.withLock { body(&$0) } }
}

/// A grpcio oracle process (scripts/oracles/grpc/server.py or client.py).
final class OracleProcess: @unchecked Sendable {
    let process: Process
    let stdin: Pipe
    let output: OutputBuffer

    init(python: String, script: String, arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.executableURL = URL(fileURLWithPath: python)
        let path = PeerEnvironment.repositoryRoot.appendingPathComponent("scripts/oracles/grpc/\(script)").path
        process.arguments = [path] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        let output = OutputBuffer()
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.append(String(decoding: data, as: UTF8.self)) }
        }
        self.process = process
        self.stdin = stdin
        self.output = output
        try process.run()
    }

    /// Waits for a line `PORT <n>` (the oracle server is ready).
    func waitForPort() async throws -> Int {
        for _ in 0..<600 {
            let text = output.withLock { $0 }
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("PORT ") }),
                let port = Int(line.dropFirst(5).trimmingCharacters(in: .whitespaces))
            {
                return port
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RPCError(code: .unavailable, message: "oracle server did not start: \(output.withLock { $0 })")
    }

    /// Waits for the process to exit (bounded) and returns its output.
    func waitForExit(timeout: Duration = .seconds(120)) async throws -> (status: Int32, output: String) {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        await stop()
        // Let the output handler take the last bytes.
        try await Task.sleep(for: .milliseconds(50))
        return (process.terminationStatus, output.withLock { $0 })
    }

    /// Stops the process and waits for it on a dispatch thread (never blocking the cooperative pool).
    func stop() async {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        let process = self.process
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
    }
}

@Suite("GRPCWire <-> grpcio interop", .serialized)
struct GrpcioInteropTests {
    static let clientCases = [
        "unary_metadata_trailers", "server_streaming", "client_streaming", "bidi_streaming",
        "error_status_details", "all_status_codes", "large_8mib", "deadline_exceeded", "cancellation",
        "compression_gzip", "compression_deflate", "health_check_watch",
    ]

    /// grpcio client -> GRPCWire server: every case of scripts/oracles/grpc/client.py must pass.
    @Test(arguments: [false, true])
    func grpcioClientAgainstSwiftServer(tls: Bool) async throws {
        guard let python = PeerEnvironment.require(PeerEnvironment.python, "WIRESTACK_PY") else { return }
        var certs: String?
        if tls {
            guard let dir = PeerEnvironment.require(PeerEnvironment.certificates, "WIRESTACK_CERTS") else { return }
            certs = dir
        }
        let health = HealthService()
        health.setStatus(.serving, forService: "peers.echo.Echo")
        try await withServer(
            configure: { configuration in
                configuration.maxReceiveMessageSize = 16 << 20
                if let certs {
                    configuration.tls = .init(
                        certificateChainFile: "\(certs)/server.crt", privateKeyFile: "\(certs)/server.key")
                }
            },
            services: [EchoService(), health]
        ) { _, port in
            var arguments = ["127.0.0.1:\(port)"]
            if let certs { arguments += ["--tls", "\(certs)/ca.crt"] }
            let client = try OracleProcess(python: python, script: "client.py", arguments: arguments)
            let (status, output) = try await client.waitForExit()
            for name in Self.clientCases {
                #expect(output.contains("OK \(name)\n"), "grpcio case \(name) (tls: \(tls)): \(output)")
            }
            #expect(status == 0, "grpcio client output: \(output)")
        }
    }
}

/// GRPCWire client -> grpcio server.
@Suite("GRPCWire client -> grpcio server", .serialized)
struct SwiftClientAgainstGrpcioTests {
    /// Starts the grpcio oracle server and a client for it.
    func withGrpcioServer(
        tls: Bool, configure: (inout GRPCClient.Configuration) -> Void = { _ in },
        _ body: (GRPCClient) async throws -> Void
    ) async throws {
        guard let python = PeerEnvironment.require(PeerEnvironment.python, "WIRESTACK_PY") else { return }
        var arguments: [String] = []
        var security = TransportSecurity.plaintext
        if tls {
            guard let certs = PeerEnvironment.require(PeerEnvironment.certificates, "WIRESTACK_CERTS") else { return }
            arguments = ["--tls-cert", "\(certs)/server.crt", "--tls-key", "\(certs)/server.key"]
            security = .tls(TLSSettings(trustRoots: .file("\(certs)/ca.crt"), serverName: "localhost"))
        }
        let server = try OracleProcess(python: python, script: "server.py", arguments: arguments)
        do {
            let port = try await server.waitForPort()
            try await withClient(port: port, configure: { configuration in
                configuration.transportSecurity = security
                configuration.maxReceiveMessageSize = 16 << 20
                configure(&configuration)
            }) { client in
                try await body(client)
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test(arguments: [false, true])
    func allCallKindsMetadataAndTrailers(tls: Bool) async throws {
        try await withGrpcioServer(tls: tls) { client in
            var options = CallOptions(timeout: .seconds(30))
            options.metadata.add("x-echo-header", "h1")
            let unary = try await client.unaryCall(Echo.unary, Peers_Echo_Msg(text: "hi", n: 1), options: options)
            #expect(unary.message.text == "hi")
            #expect(unary.initialMetadata.first("x-echo-header") == "h1")
            #expect(unary.trailingMetadata.first("x-echo-trailer") == "t1")
            #expect(unary.trailingMetadata.firstBinary("x-bin-bin") == [0, 1])

            let streamed = try await client.serverStreaming(Echo.serverStream, Peers_Echo_Msg(text: "s", n: 5)) { responses in
                var texts: [String] = []
                for try await message in responses { texts.append(message.text) }
                return texts
            }
            #expect(streamed == ["s-0", "s-1", "s-2", "s-3", "s-4"])

            let collected = try await client.clientStreaming(Echo.clientStream) { writer in
                try await writer.write(contentsOf: ["a", "b", "c"].map { Peers_Echo_Msg(text: $0) })
            }
            #expect(collected.message.text == "abc")
            #expect(collected.message.n == 3)

            let echoed = try await client.bidirectionalStreaming(Echo.bidi) { writer in
                try await writer.write(contentsOf: ["x", "y", "z"].map { Peers_Echo_Msg(text: $0) })
            } onResponse: { responses in
                var texts: [String] = []
                for try await message in responses { texts.append(message.text) }
                return texts
            }
            #expect(echoed == ["x", "y", "z"])
        }
    }

    @Test(arguments: [false, true])
    func errorsDeadlinesCancellationLargeMessagesCompressionHealth(tls: Bool) async throws {
        try await withGrpcioServer(tls: tls) { client in
            // Error status with percent-encoded message, details and trailers.
            let error = await expectRPCError {
                _ = try await client.unary(Echo.fail, Peers_Echo_Msg(text: "nope 100% ü", n: 5, blob: [8, 5]))
            }
            #expect(error?.code == .notFound)
            #expect(error?.message == "nope 100% ü")
            #expect(error?.details == [8, 5])
            #expect(error?.metadata.first("x-fail") == "yes")
            for code in StatusCode.allCases where code != .ok {
                let error = await expectRPCError {
                    _ = try await client.unary(Echo.fail, Peers_Echo_Msg(text: "\(code)", n: Int32(code.rawValue)))
                }
                #expect(error?.code == code)
            }

            // Deadline.
            let deadline = await expectRPCError {
                _ = try await client.unary(
                    Echo.unary, Peers_Echo_Msg(text: "sleep", n: 30), options: CallOptions(timeout: .milliseconds(300)))
            }
            #expect(deadline?.code == .deadlineExceeded)

            // 8 MiB.
            var message = Peers_Echo_Msg()
            message.blob = eightMiB
            let big = try await client.unary(Echo.unary, message, options: CallOptions(timeout: .seconds(60)))
            #expect(big.blob == eightMiB)

            // Compression both ways, when WireCore's codecs are linked.
            for algorithm in CompressionAlgorithm.supported {
                var options = CallOptions(timeout: .seconds(30), compression: algorithm)
                options.metadata.add("x-compress", algorithm.name)
                let text = String(repeating: "z", count: 10_000)
                let compressed = try await client.unary(Echo.unary, Peers_Echo_Msg(text: text), options: options)
                #expect(compressed.text == text)
            }

            // Health.
            #expect(try await client.unary(HealthService.check, Grpc_Health_V1_HealthCheckRequest()).status == .serving)
            let watched = try await client.serverStreaming(HealthService.watch, Grpc_Health_V1_HealthCheckRequest()) { responses in
                var iterator = responses.makeAsyncIterator()
                return try await iterator.next()?.status
            }
            #expect(watched == .serving)

            // Cancellation: the grpcio server observes the RST_STREAM.
            let before = try await client.unary(Echo.stats, Peers_Echo_Msg()).n
            let first = try await client.serverStreaming(Echo.serverStream, Peers_Echo_Msg(text: "c", n: 10_000_000)) { responses in
                var iterator = responses.makeAsyncIterator()
                return try await iterator.next()?.text
            }
            #expect(first == "c-0")
            var observed = false
            for _ in 0..<500 where !observed {
                observed = try await client.unary(Echo.stats, Peers_Echo_Msg()).n > before
                if !observed { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(observed, "grpcio did not observe the client's cancellation")
        }
    }
}
