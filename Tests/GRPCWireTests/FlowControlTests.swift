import GRPCWire
import NIOCore
import Synchronization
import Testing

/// A service whose server-streaming handler counts how many messages it managed to write.
struct FloodService: GRPCService {
    static let flood = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
        service: "test.Flood", method: "Flood", kind: .serverStreaming)
    let written = CancellationCounter()
    let ended = CancellationCounter()

    /// Writes `n` messages of `blob` bytes each (16 KiB when the request's blob is empty).
    func register(with router: inout ServiceRouter) {
        router.serverStreaming(Self.flood) { [self] request, writer, _ in
            defer { ended.increment() }
            let size = request.blob.isEmpty ? 16 * 1024 : request.blob.count
            let payload = Peers_Echo_Msg(text: "", blob: [UInt8](repeating: 0x5A, count: size))
            for _ in 0..<Int(request.n) {
                try await writer.write(payload)
                written.increment()
            }
        }
    }
}

@Suite("Flow control")
struct FlowControlTests {
    /// A client that stops reading makes the server's writer suspend: HTTP/2 flow control and the
    /// writer's in-flight bound limit what the server can write (the 1 MiB stream window, at most
    /// 512 KiB in flight in the writer, the client's small inbound buffer: about 2 MiB, 128
    /// messages), far below the 16 MiB the handler wants to send.
    @Test func slowReaderBackPressuresFastWriter() async throws {
        let service = FloodService()
        try await withServer(services: [service]) { _, port in
            try await withClient(port: port) { client in
                let total = 1024  // 1024 x 16 KiB = 16 MiB
                let received = try await client.serverStreaming(FloodService.flood, Peers_Echo_Msg(text: "", n: Int32(total))) { responses in
                    var iterator = responses.makeAsyncIterator()
                    _ = try await iterator.next()
                    // Stop reading for a while.
                    try await Task.sleep(for: .milliseconds(700))
                    let stalled = service.written.value
                    #expect(stalled < 400, "server wrote \(stalled) messages to a reader that stopped")
                    // Resume and drain everything.
                    var count = 1
                    while try await iterator.next() != nil { count += 1 }
                    return count
                }
                #expect(received == total)
                #expect(service.written.value == total)
            }
        }
    }

    /// The same with tiny messages: the writer must be bounded by what is in flight, not by what
    /// the channel has seen, or it runs far ahead of the event loop.
    @Test func slowReaderBoundsAFloodOfTinyMessages() async throws {
        let service = FloodService()
        try await withServer(services: [service]) { _, port in
            try await withClient(port: port) { client in
                let total = 5_000_000
                let request = Peers_Echo_Msg(text: "", n: Int32(total), blob: [1])
                let first = try await client.serverStreaming(FloodService.flood, request) { responses in
                    var iterator = responses.makeAsyncIterator()
                    let first = try await iterator.next()
                    try await Task.sleep(for: .milliseconds(700))
                    // 8 bytes per message: the 1 MiB stream window, the client's inbound buffer
                    // and the writer's bound come to about 250k messages; unbounded, the writer
                    // would run through millions.
                    let stalled = service.written.value
                    #expect(stalled < 600_000, "server wrote \(stalled) tiny messages to a reader that stopped")
                    return first
                }
                #expect(first?.blob.count == 1)
                // Returning early cancelled the call: the handler ends, the connection stays usable.
                var waited = 0
                while service.ended.value == 0 && waited < 400 {
                    try await Task.sleep(for: .milliseconds(50))
                    waited += 1
                }
                #expect(service.ended.value == 1, "the handler did not observe the cancellation")
                #expect(service.written.value < total)
            }
        }
    }
}

/// Regression: cancelling a server stream that was flooding a flow-controlled client used to
/// leave the server's event loop busy for seconds with the writes queued ahead of it, stalling
/// every call on that loop (the grpcio `cancellation` case failed with DEADLINE_EXCEEDED).
@Suite("Cancellation of a flooding stream", .timeLimit(.minutes(2)))
struct FloodCancellationTests {
    @Test func cancellingAFloodingServerStreamKeepsTheConnectionUsable() async throws {
        let service = EchoService()
        try await withServer(services: [service]) { _, port in
            try await withClient(port: port) { client in
                let first = try await client.serverStreaming(Echo.serverStream, Peers_Echo_Msg(text: "c", n: 10_000_000)) { responses in
                    var iterator = responses.makeAsyncIterator()
                    let first = try await iterator.next()?.text
                    // Let the server fill the flow-control window and its writer bound.
                    try await Task.sleep(for: .milliseconds(300))
                    return first
                }
                #expect(first == "c-0")
                // The same connection answers, and the handler saw the cancellation.
                var observed = false
                var attempts = 0
                while !observed && attempts < 200 {
                    let stats = try await client.unary(Echo.stats, Peers_Echo_Msg(), options: CallOptions(timeout: .seconds(10)))
                    observed = stats.n > 0
                    attempts += 1
                    if !observed { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(observed, "the server handler did not observe the cancellation")
                let echo = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "after"), options: CallOptions(timeout: .seconds(10)))
                #expect(echo.text == "after")
            }
        }
    }
}
