import Dispatch
@testable import GRPCWire
import NIOCore
import NIOPosix
import Testing

/// Which failed calls GRPCClient starts again by itself (gRFC A6 transparent retry): only those the
/// server provably never processed.
@Suite("Transparent retry", .timeLimit(.minutes(2)))
struct TransparentRetryTests {
    /// The race CI hit at a connection's maximum age: a call opened its stream on a connection
    /// that then received GOAWAY and closed (the server closes at once when no stream is open on
    /// it) before the call's HEADERS reached the event loop. The response side ends with nothing
    /// received while the HEADERS still wait; the verdict must wait for that write, which fails
    /// (the connection is going away), so the call counts as never processed. Deciding without
    /// waiting took it for a call the server may have run and failed it with UNAVAILABLE.
    ///
    /// The event loop is held while the response side ends, so the frames are still queued then.
    @Test func callWhoseConnectionClosedBeforeItsHeadersWentOutIsNeverProcessed() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let hold = DispatchSemaphore(value: 0)
        do {
            try await withServer { server, port in
                let connection = try await ClientConnection.connect(
                    host: "127.0.0.1", port: port, tls: nil, connectTimeout: .seconds(30), keepalive: nil,
                    eventLoopGroup: group)
                let head = RequestHead(path: Echo.unary.path, scheme: "http", authority: "127.0.0.1:\(port)")
                let request = ByteBuffer(bytes: [0x0a, 0x01, 0x78])
                // One call first: the server has then registered the connection, so its shutdown
                // reaches the connection with a GOAWAY instead of closing it unannounced.
                let first = try await connection.openStream()
                do {
                    defer { first.channel.close(promise: nil) }
                    let call = ClientCallStream(
                        channel: first.channel, inbox: first.inbox, requestHead: head, connection: connection.state,
                        maxReceiveMessageSize: 1 << 20, maxSendMessageSize: .max)
                    try await call.sendMessage(request, endStream: true)
                    let response = try await call.nextMessage()
                    #expect(response != nil)
                }
                let streamChannel = try await connection.openStream()
                // GOAWAY + PING; no stream is open on the connection yet (no HEADERS went out), so
                // the server closes it as soon as the client acknowledges the PING.
                server.beginGracefulShutdown()
                try await connection.channel.closeFuture.get()
                let draining = connection.state.draining.load(ordering: .relaxed)
                #expect(draining, "the client read the GOAWAY")
                connection.channel.eventLoop.execute { hold.wait() }
                defer { hold.signal() }
                do {
                    defer { streamChannel.channel.close(promise: nil) }
                    let stream = ClientCallStream(
                        channel: streamChannel.channel, inbox: streamChannel.inbox,
                        requestHead: head,
                        connection: connection.state, maxReceiveMessageSize: 1 << 20, maxSendMessageSize: .max)
                    // Queued behind the held event loop: the HEADERS are neither written nor refused yet.
                    try await stream.sendMessage(request, endStream: true)
                    let ended = await expectRPCError { try await stream.receiveHead() }
                    #expect(ended?.code == .unavailable)
                    let streamID = stream.streamID.load(ordering: .relaxed)
                    #expect(streamID == 0, "no stream ID: the HEADERS were not written")
                    async let verdict = stream.neverProcessed()
                    // Give the verdict time to start while the HEADERS are still undecided (the
                    // assertion holds either way; the pause makes the test exercise the race).
                    try await Task.sleep(for: .milliseconds(100))
                    hold.signal()
                    #expect(await verdict, "a call whose HEADERS never went out was never processed")
                }
            }
        } catch {
            hold.signal()
            try await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    /// The other side of the rule: a call whose HEADERS reached the server, which then closed the
    /// connection (here at the end of the grace time after a GOAWAY at the connection's maximum
    /// age) with nothing sent back, may have been processed. It fails with UNAVAILABLE and is not
    /// started again: the handler ran exactly once.
    @Test func callTheServerMayHaveProcessedIsNotRetried() async throws {
        let started = CancellationCounter()
        try await withServer(configure: {
            $0.maxConnectionAge = .milliseconds(300)
            $0.maxGraceTime = .milliseconds(300)
        }, services: [GateService(started: started)]) { _, port in
            try await withClient(port: port) { client in
                let error = await expectRPCError {
                    _ = try await client.unary(GateService.hold, Peers_Echo_Msg(text: "held", n: 60_000))
                }
                #expect(error?.code == .unavailable, "\(String(describing: error))")
                #expect(error?.requestNotSent == false, "the request reached the server")
                #expect(started.value == 1, "the handler ran \(started.value) times")
            }
        }
    }

    /// A call that could not even connect is marked as never sent, so callers may send a
    /// non-idempotent request again.
    @Test func callThatCouldNotConnectIsMarkedNotSent() async throws {
        // A port that was just listening and is closed now: the connect is refused.
        let port = try await withServer { _, port in port }
        try await withClient(port: port) { client in
            let error = await expectRPCError {
                _ = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "x"))
            }
            #expect(error?.code == .unavailable, "\(String(describing: error))")
            #expect(error?.requestNotSent == true, "\(String(describing: error))")
        }
    }
}
