import GRPCWire
import Synchronization
import Testing

// The streaming API shapes as typical Swift 6 user code uses them: from an actor and from the main
// actor, with closures that touch the caller's isolated state (the client's call methods run their
// closures in the caller's isolation), and from @Sendable task closures. This file compiling under
// the package's Swift 6 strict concurrency is half the test; the calls then run against a server.

/// Collects a server stream into actor state.
actor StreamCollector {
    private(set) var texts: [String] = []
    private(set) var headersSeen = false

    func listen(_ client: GRPCClient, count: Int32) async throws {
        let total = try await client.serverStreaming(Echo.serverStream, Peers_Echo_Msg(text: "a", n: count)) { responses in
            _ = try await responses.initialMetadata
            headersSeen = true
            for try await response in responses {
                texts.append(response.text)  // actor state, no hop, no Sendable box
            }
            return texts.count
        }
        #expect(total == Int(count))
    }

    func upload(_ client: GRPCClient, parts: [String]) async throws -> Peers_Echo_Msg {
        var sent = 0
        let response = try await client.clientStreaming(Echo.clientStream) { writer in
            for part in parts {
                try await writer.write(Peers_Echo_Msg(text: part, n: 0))
                sent += 1  // local state of the actor method
            }
        }
        #expect(sent == parts.count)
        return response.message
    }
}

/// A main-actor model, the shape of UI or test code.
@MainActor
final class EchoModel {
    var echoed: [String] = []

    func chat(_ client: GRPCClient, _ lines: [String]) async throws -> Int {
        try await client.bidirectionalStreaming(Echo.bidi) { writer in
            // @Sendable: runs concurrently with the response side.
            for line in lines { try await writer.write(Peers_Echo_Msg(text: line, n: 0)) }
        } onResponse: { responses in
            for try await response in responses {
                echoed.append(response.text)  // main-actor state
            }
            return echoed.count
        }
    }
}

@Suite("Calls from isolated and Sendable contexts", .timeLimit(.minutes(2)))
struct IsolationTests {
    @Test func streamingCallsFromActorsAndSendableTasks() async throws {
        try await withServer { _, port in
            try await withClient(port: port) { client in
                let collector = StreamCollector()
                try await collector.listen(client, count: 5)
                #expect(await collector.texts == (0..<5).map { "a-\($0)" })
                #expect(await collector.headersSeen)

                let uploaded = try await collector.upload(client, parts: ["x", "y", "z"])
                #expect(uploaded.text == "xyz")
                #expect(uploaded.n == 3)

                let model = EchoModel()
                let echoed = try await model.chat(client, ["p", "q"])
                #expect(echoed == 2)
                #expect(await model.echoed == ["p", "q"])

                // From @Sendable child tasks: every call shape, results collected through the group.
                let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                    for n in 1...4 {
                        group.addTask { @Sendable in
                            try await client.serverStreaming(Echo.serverStream, Peers_Echo_Msg(text: "s", n: Int32(n))) {
                                responses in
                                var count = 0
                                for try await _ in responses { count += 1 }
                                return count
                            }
                        }
                    }
                    var total = 0
                    for try await count in group { total += count }
                    return total
                }
                #expect(counts == 1 + 2 + 3 + 4)
            }
        }
    }

    @Test func serverHandlersCaptureSendableState() async throws {
        let seen = Mutex<[String]>([])
        let descriptor = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
            service: "test.Isolation", method: "Record", kind: .serverStreaming)
        struct RecordingService: GRPCService {
            let descriptor: MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>
            let record: @Sendable (String) -> Void
            func register(with router: inout ServiceRouter) {
                router.serverStreaming(descriptor) { [record] request, writer, _ in
                    record(request.text)
                    try await writer.write(request)
                }
            }
        }
        let service = RecordingService(descriptor: descriptor) { text in seen.withLock { $0.append(text) } }
        try await withServer(services: [service]) { _, port in
            try await withClient(port: port) { client in
                let echoed = try await client.serverStreaming(descriptor, Peers_Echo_Msg(text: "r", n: 0)) { responses in
                    var texts: [String] = []
                    for try await response in responses { texts.append(response.text) }
                    return texts
                }
                #expect(echoed == ["r"])
            }
        }
        #expect(seen.withLock { $0 } == ["r"])
    }
}
