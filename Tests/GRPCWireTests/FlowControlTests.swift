import GRPCWire
import NIOCore
import Synchronization
import Testing

/// A service whose server-streaming handler counts how many messages it managed to write.
struct FloodService: GRPCService {
    static let flood = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
        service: "test.Flood", method: "Flood", kind: .serverStreaming)
    let written = CancellationCounter()

    func register(with router: inout ServiceRouter) {
        router.serverStreaming(Self.flood) { [self] request, writer, _ in
            let payload = Peers_Echo_Msg(text: "", blob: [UInt8](repeating: 0x5A, count: 16 * 1024))
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
    /// stream's outbound buffer bound what the server can write (about 1 MiB window + 1 MiB
    /// buffer + the client's inbound buffer), far below the 64 MiB the handler wants to send.
    @Test func slowReaderBackPressuresFastWriter() async throws {
        let service = FloodService()
        try await withServer(services: [service]) { _, port in
            try await withClient(port: port) { client in
                let total = 4096  // 4096 x 16 KiB = 64 MiB
                let received = try await client.serverStreaming(FloodService.flood, Peers_Echo_Msg(text: "", n: Int32(total))) { responses in
                    var iterator = responses.makeAsyncIterator()
                    _ = try await iterator.next()
                    // Stop reading for a while.
                    try await Task.sleep(for: .milliseconds(700))
                    let stalled = service.written.value
                    #expect(stalled < 512, "server wrote \(stalled) messages to a reader that stopped")
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
}
