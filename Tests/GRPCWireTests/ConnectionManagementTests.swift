@testable import GRPCWire
import NIOCore
import NIOHTTP2
import Synchronization
import Testing

/// Returns the caller's connection (the server's view of the peer address) for each call.
struct PeerService: GRPCService {
    static let whoAmI = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
        service: "test.Peer", method: "WhoAmI", kind: .unary)

    func register(with router: inout ServiceRouter) {
        router.unary(Self.whoAmI) { _, context in
            Peers_Echo_Msg(text: context.peer)
        }
    }
}

/// Keepalive enforcement (gRFC A8), GOAWAY on both sides, graceful shutdown.
@Suite("Keepalive, ping strikes and GOAWAY", .timeLimit(.minutes(2)))
struct ConnectionManagementTests {
    static let enhanceYourCalm = UInt32(HTTP2ErrorCode.enhanceYourCalm.networkCode)

    /// Without calls, a client may ping at most every two hours: the fourth ping in a row is the
    /// third strike, over the default limit of two, and the server answers GOAWAY
    /// ENHANCE_YOUR_CALM `too_many_pings` and closes the connection.
    @Test func pingsWithoutCallsEndInGoAwayTooManyPings() async throws {
        try await withServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            defer { Task { await client.close() } }
            var events = client.events.makeAsyncIterator()
            for value in UInt64(1)...3 {
                try await client.ping(value)
                #expect(await events.next() == .pingAck(value), "ping \(value) is within the strike limit")
            }
            try await client.ping(4)
            var seen: [RawHTTP2Client.Event] = []
            while let event = await events.next() {
                seen.append(event)
                if event == .closed { break }
            }
            #expect(seen.contains(.goAway(lastStreamID: 0, errorCode: Self.enhanceYourCalm, debugData: "too_many_pings")), "\(seen)")
            #expect(seen.last == .closed, "\(seen)")
        }
    }

    /// Strikes reset whenever the server sends data (gRFC A8): a client pinging after every
    /// response message of an active call is never struck out, however often it pings. The same
    /// connection is then struck out by three pings without data in between.
    @Test func serverDataResetsPingStrikes() async throws {
        try await withServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            defer { Task { await client.close() } }
            var events = client.events.makeAsyncIterator()
            let call = try await client.openStream()
            try await call.executeThenClose { inbound, outbound in
                try await outbound.write(RawHTTP2Client.requestHeaders(path: "/peers.echo.Echo/Bidi"))
                var responses = inbound.makeAsyncIterator()
                for round in UInt64(1)...10 {
                    try await client.ping(round)
                    #expect(await events.next() == .pingAck(round))
                    try await outbound.write(try RawHTTP2Client.grpcData(Peers_Echo_Msg(text: "r\(round)")))
                    // Wait for the echo: the server has sent DATA since the ping.
                    while true {
                        guard let frame = try await responses.next() else {
                            Issue.record("the call ended early")
                            return
                        }
                        if case .data = frame { break }
                    }
                }
                // No data from now on: ping 11 resets to one strike, 12 makes two, 13 three.
                for value in UInt64(11)...12 {
                    try await client.ping(value)
                    #expect(await events.next() == .pingAck(value))
                }
                try await client.ping(13)
                var seen: [RawHTTP2Client.Event] = []
                while let event = await events.next() {
                    seen.append(event)
                    if event == .closed { break }
                }
                #expect(seen.contains(.goAway(lastStreamID: 1, errorCode: Self.enhanceYourCalm, debugData: "too_many_pings")), "\(seen)")
            }
        }
    }

    /// A GRPCClient whose keepalive is too eager for the server is sent GOAWAY `too_many_pings`:
    /// it moves to a new connection for the next call and doubles its keepalive interval (A8),
    /// which the server then accepts.
    @Test func clientDoublesKeepaliveAfterTooManyPings() async throws {
        try await withServer(configure: {
            $0.keepalive.minimumReceivedPingInterval = .milliseconds(300)
            $0.keepalive.permitWithoutCalls = true
        }, services: [PeerService()]) { _, port in
            try await withClient(port: port, configure: {
                $0.keepalive = .init(interval: .milliseconds(200), timeout: .seconds(10), permitWithoutCalls: true)
            }) { client in
                // Connect without a call: a call in flight while the pings pile up would be
                // struck out with its connection, as the policy says.
                let firstPort = try await client.connection().channel.localAddress?.port
                #expect(client.currentKeepaliveInterval == .milliseconds(200))
                // Idle pings every 200 ms, under the 300 ms minimum: struck out after four.
                var waited = 0
                while client.hasUsableConnection && waited < 600 {
                    try await Task.sleep(for: .milliseconds(50))
                    waited += 1
                }
                #expect(!client.hasUsableConnection, "the server never sent GOAWAY too_many_pings")
                let second = try await client.unary(PeerService.whoAmI, Peers_Echo_Msg())
                #expect(firstPort != nil && !second.text.hasSuffix(":\(firstPort!)"), "the call after GOAWAY used a new connection")
                #expect(client.currentKeepaliveInterval == .milliseconds(400))
                // 400 ms pings are within the policy: the new connection is not struck out.
                try await Task.sleep(for: .seconds(2))
                #expect(client.hasUsableConnection)
                let third = try await client.unary(PeerService.whoAmI, Peers_Echo_Msg())
                #expect(third.text == second.text)
            }
        }
    }

    /// The server closes connections at their maximum age with a graceful GOAWAY: the client
    /// honours it (new calls go to a new connection, none fails) and a call in flight on the old
    /// connection finishes there.
    @Test func clientHonoursGoAwayAtMaxConnectionAge() async throws {
        try await withServer(configure: {
            $0.maxConnectionAge = .milliseconds(700)
            // No forced close: the in-flight call must finish on its aged connection however slow
            // the machine is (a whole-suite run under load once took over 60 s for this test, and
            // a 30 s grace time would cut the 2 s call off without a response).
            $0.maxGraceTime = nil
        }, services: [EchoService(), PeerService()]) { _, port in
            try await withClient(port: port) { client in
                let firstPeer = try await client.unary(PeerService.whoAmI, Peers_Echo_Msg()).text
                async let slow = client.unary(Echo.unary, Peers_Echo_Msg(text: "sleep", n: 2))
                var peers: Set<String> = [firstPeer]
                var calls = 0
                while peers.count < 3 && calls < 1000 {
                    peers.insert(try await client.unary(PeerService.whoAmI, Peers_Echo_Msg()).text)
                    calls += 1
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(peers.count >= 3, "the client never left an aged connection (\(calls) calls)")
                #expect(try await slow.text == "sleep")
            }
        }
    }

    /// Graceful shutdown: the call the server is running when shutdown begins finishes with OK,
    /// new connections are refused, and run() returns.
    @Test func gracefulShutdownLetsInFlightCallsFinish() async throws {
        let started = CancellationCounter()
        let service = GateService(started: started)
        let server = GRPCServer(configuration: .init(port: 0), services: [service], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try await server.listeningPort()
            try await withClient(port: port) { client in
                async let slow = client.unary(GateService.hold, Peers_Echo_Msg(text: "held", n: 500))
                // Shut down only once the server is running the call.
                var waited = 0
                while started.value == 0 && waited < 2000 {
                    try await Task.sleep(for: .milliseconds(5))
                    waited += 1
                }
                #expect(started.value == 1)
                server.beginGracefulShutdown()
                #expect(try await slow.text == "held")
            }
            // run() ends by itself once the last connection closed.
            try await group.next()
            let refused = await expectRPCError {
                try await withClient(port: try await server.listeningPort()) { client in
                    _ = try await client.unary(GateService.hold, Peers_Echo_Msg(text: "late"))
                }
            }
            #expect(refused?.code == .unavailable)
        }
    }
}

/// A unary method that records that it started, then holds the call for `n` milliseconds.
struct GateService: GRPCService {
    static let hold = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(service: "test.Gate", method: "Hold", kind: .unary)
    let started: CancellationCounter

    func register(with router: inout ServiceRouter) {
        router.unary(Self.hold) { [started] request, _ in
            started.increment()
            try await Task.sleep(for: .milliseconds(Int(request.n)))
            return request
        }
    }
}
