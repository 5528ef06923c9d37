import Foundation
import GRPCWire
import NIOCore
import Synchronization
import Testing

@Suite("GRPCWire client <-> GRPCWire server")
struct LoopbackTests {
    @Test func unaryWithMetadataAndTrailers() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                var options = CallOptions()
                options.metadata.add("x-echo-header", "h1")
                let response = try await client.unaryCall(Echo.unary, Peers_Echo_Msg(text: "hi", n: 7), options: options)
                #expect(response.message.text == "hi")
                #expect(response.message.n == 7)
                #expect(response.initialMetadata.first("x-echo-header") == "h1")
                #expect(response.trailingMetadata.first("x-echo-trailer") == "t1")
                #expect(response.trailingMetadata.firstBinary("x-bin-bin") == [0, 1])
            }
        }
    }

    @Test func serverStreaming() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let texts = try await client.serverStreaming(Echo.serverStream, Peers_Echo_Msg(text: "s", n: 5)) { responses in
                    var texts: [String] = []
                    for try await message in responses { texts.append(message.text) }
                    return texts
                }
                #expect(texts == ["s-0", "s-1", "s-2", "s-3", "s-4"])
            }
        }
    }

    @Test func clientStreaming() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let response = try await client.clientStreaming(Echo.clientStream) { writer in
                    for text in ["a", "b", "c"] { try await writer.write(Peers_Echo_Msg(text: text)) }
                }
                #expect(response.message.text == "abc")
                #expect(response.message.n == 3)
                let empty = try await client.clientStreaming(Echo.clientStream) { _ in }
                #expect(empty.message.n == 0)
            }
        }
    }

    @Test func bidirectionalStreaming() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let texts = try await client.bidirectionalStreaming(Echo.bidi) { writer in
                    for text in ["x", "y", "z"] { try await writer.write(Peers_Echo_Msg(text: text)) }
                } onResponse: { responses in
                    var texts: [String] = []
                    for try await message in responses { texts.append(message.text) }
                    return texts
                }
                #expect(texts == ["x", "y", "z"])
            }
        }
    }

    @Test func errorStatusWithDetailsAndPercentEncodedMessage() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let message = "nope: 100% ünïcode\n"
                let error = await expectRPCError {
                    _ = try await client.unary(Echo.fail, Peers_Echo_Msg(text: message, n: 5, blob: [9, 8, 7]))
                }
                #expect(error?.code == .notFound)
                #expect(error?.message == message)
                #expect(error?.details == [9, 8, 7])
                #expect(error?.metadata.first("x-fail") == "yes")
            }
        }
    }

    @Test(arguments: StatusCode.allCases.filter { $0 != .ok })
    func everyStatusCodeRoundTrips(code: StatusCode) async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let error = await expectRPCError {
                    _ = try await client.unary(Echo.fail, Peers_Echo_Msg(text: "\(code)", n: Int32(code.rawValue)))
                }
                #expect(error?.code == code)
                #expect(error?.message == "\(code)")
            }
        }
    }

    @Test func unimplementedMethod() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let missing = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
                    service: "peers.echo.Echo", method: "Missing", kind: .unary)
                let error = await expectRPCError { _ = try await client.unary(missing, Peers_Echo_Msg()) }
                #expect(error?.code == .unimplemented)
            }
        }
    }

    @Test func deadlineExceededIsEnforcedOnBothSides() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let start = ContinuousClock.now
                let error = await expectRPCError {
                    _ = try await client.unary(
                        Echo.unary, Peers_Echo_Msg(text: "sleep", n: 30), options: CallOptions(timeout: .milliseconds(200)))
                }
                #expect(error?.code == .deadlineExceeded)
                #expect(ContinuousClock.now - start < .seconds(25), "the 200 ms deadline took far too long")
                // The connection is still usable afterwards.
                let ok = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "after"))
                #expect(ok.text == "after")
            }
        }
    }

    @Test func clientCancellationResetsTheStream() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let task = Task {
                    try await client.unary(Echo.unary, Peers_Echo_Msg(text: "sleep", n: 30))
                }
                try await Task.sleep(for: .milliseconds(200))
                task.cancel()
                let result = await task.result
                guard case .failure(let error as RPCError) = result else {
                    Issue.record("expected cancellation, got \(result)")
                    return
                }
                #expect(error.code == .cancelled)
            }
        }
    }

    @Test func maxMessageSizeGivesResourceExhausted() async throws {
        try await withServer(configure: { $0.maxReceiveMessageSize = 1024 }) { _, port in
            try await withClient(port: port) { client in
                let error = await expectRPCError {
                    _ = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "big", blob: [UInt8](repeating: 1, count: 4096)))
                }
                #expect(error?.code == .resourceExhausted)
                // Client-side limit on responses.
                let small = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "small"))
                #expect(small.text == "small")
            }
            try await withClient(port: port, configure: { $0.maxReceiveMessageSize = 16 }) { client in
                let error = await expectRPCError {
                    _ = try await client.unary(Echo.unary, Peers_Echo_Msg(text: String(repeating: "x", count: 100)))
                }
                #expect(error?.code == .resourceExhausted)
            }
        }
    }

    @Test func largeMessage8MiB() async throws {
        try await withServer(configure: { $0.maxReceiveMessageSize = 16 << 20 }) { _, port in
            try await withClient(port: port, configure: { $0.maxReceiveMessageSize = 16 << 20 }) { client in
                var message = Peers_Echo_Msg(text: "big")
                message.blob = eightMiB
                let response = try await client.unary(Echo.unary, message)
                #expect(response.blob == eightMiB)
            }
        }
    }

    @Test func interceptorsOnBothSides() async throws {
        struct AddToken: ClientInterceptor {
            func intercept(_ call: ClientCallInfo, next: (ClientCallInfo) async throws -> Void) async throws {
                var call = call
                call.options.metadata.add("authorization", "Bearer secret")
                try await next(call)
            }
        }
        struct RequireToken: ServerInterceptor {
            func intercept(context: ServerContext, next: () async throws -> Void) async throws {
                guard context.requestMetadata.first("authorization") == "Bearer secret" else {
                    throw RPCError(code: .unauthenticated, message: "missing token")
                }
                try await next()
            }
        }
        try await withServer(interceptors: [RequireToken()]) { _, port in
            try await withClient(port: port) { client in
                let error = await expectRPCError { _ = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "x")) }
                #expect(error?.code == .unauthenticated)
            }
            try await withClient(port: port, interceptors: [AddToken()]) { client in
                let response = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "ok"))
                #expect(response.text == "ok")
            }
        }
    }

    @Test func concurrentCallsMultiplexOnOneConnection() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                try await withThrowingTaskGroup(of: Int32.self) { group in
                    for i in 0..<64 {
                        group.addTask { try await client.unary(Echo.unary, Peers_Echo_Msg(text: "c", n: Int32(i))).n }
                    }
                    var sum: Int32 = 0
                    for try await n in group { sum += n }
                    #expect(sum == (0..<64).reduce(0, +))
                }
            }
        }
    }

    @Test func healthCheckAndWatch() async throws {
        let health = HealthService()
        health.setStatus(.notServing, forService: "peers.echo.Echo")
        try await withServer(services: [EchoService(), health]) { _, port in
            try await withClient(port: port) { client in
                var request = Grpc_Health_V1_HealthCheckRequest()
                #expect(try await client.unary(HealthService.check, request).status == .serving)
                request.service = "nope"
                let error = await expectRPCError { _ = try await client.unary(HealthService.check, request) }
                #expect(error?.code == .notFound)
                request.service = "peers.echo.Echo"
                let statuses = try await client.serverStreaming(HealthService.watch, request) { responses in
                    var seen: [HealthService.ServingStatus] = []
                    for try await response in responses {
                        seen.append(response.status)
                        if seen.count == 1 { health.setStatus(.serving, forService: "peers.echo.Echo") }
                        if seen.count == 2 { break }
                    }
                    return seen
                }
                #expect(statuses == [.notServing, .serving])
            }
        }
    }
}
