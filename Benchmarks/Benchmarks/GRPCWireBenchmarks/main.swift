// GRPCWire vs grpc-swift-2 (2.4.3 + grpc-swift-nio-transport 2.9.2 + grpc-swift-protobuf 2.4.1),
// measured in the same process and run, each stack serving and calling itself over loopback h2c:
// - unary echo calls/s with 1 and 64 concurrent callers, with p50/p99 call latency;
// - server-streaming messages/s.
// First runs the interop cases both ways (Interop.swift); a failing case fails the run.
// Each case alternates the two stacks for three rounds and keeps each side's best round (the
// machine is shared, so the best round is the least disturbed one); latency percentiles come
// from that round.
// Run: `swift run -c release GRPCWireBenchmarks [seconds per round]` or `... interop` (interop only).
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import GRPCWire
import Logging

let arguments = Array(CommandLine.arguments.dropFirst())
let interopOnly = arguments.first == "interop"
let secondsPerCase = Double(arguments.first ?? "") ?? 3.0
let rounds = 3
let logger = Logger(label: "bench")

let interopFailures = try await runInterop(logger: logger)
if interopFailures > 0 || interopOnly {
    exit(interopFailures > 0 ? 1 : 0)
}

// MARK: GRPCWire side

enum WireEcho {
    static let unary = GRPCWire.MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
        service: "peers.echo.Echo", method: "Unary", kind: .unary)
    static let serverStream = GRPCWire.MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
        service: "peers.echo.Echo", method: "ServerStream", kind: .serverStreaming)
}

struct WireEchoService: GRPCService {
    func register(with router: inout ServiceRouter) {
        router.unary(WireEcho.unary) { request, _ in request }
        router.serverStreaming(WireEcho.serverStream) { request, writer, _ in
            var message = Peers_Echo_Msg()
            message.text = request.text
            for i in 0..<request.n {
                message.n = i
                try await writer.write(message)
            }
        }
    }
}

// MARK: grpc-swift-2 side

let swiftUnary = GRPCCore.MethodDescriptor(fullyQualifiedService: "peers.echo.Echo", method: "Unary")
let swiftServerStream = GRPCCore.MethodDescriptor(fullyQualifiedService: "peers.echo.Echo", method: "ServerStream")

struct SwiftEchoService: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: swiftUnary, deserializer: GRPCProtobuf.ProtobufDeserializer<Peers_Echo_Msg>(),
            serializer: GRPCProtobuf.ProtobufSerializer<Peers_Echo_Msg>()
        ) { request, _ in
            var messages: [Peers_Echo_Msg] = []
            for try await message in request.messages { messages.append(message) }
            return StreamingServerResponse(single: ServerResponse(message: messages.first ?? Peers_Echo_Msg()))
        }
        router.registerHandler(
            forMethod: swiftServerStream, deserializer: GRPCProtobuf.ProtobufDeserializer<Peers_Echo_Msg>(),
            serializer: GRPCProtobuf.ProtobufSerializer<Peers_Echo_Msg>()
        ) { request, _ in
            var first = Peers_Echo_Msg()
            for try await message in request.messages { first = message }
            let request = first
            return StreamingServerResponse { writer in
                var message = Peers_Echo_Msg()
                message.text = request.text
                for i in 0..<request.n {
                    message.n = i
                    try await writer.write(message)
                }
                return [:]
            }
        }
    }
}

// MARK: measurement

struct Result {
    var operations: Int
    var seconds: Double
    var latencies: [Double]  // seconds, per call
    var rate: Double { Double(operations) / seconds }
    func percentile(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return .nan }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

/// Runs `call` from `concurrency` tasks for `secondsPerCase` (bounded by a call cap).
func measure(concurrency: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> Result {
    // Warm-up.
    for _ in 0..<200 { try await call() }
    let clock = ContinuousClock()
    let start = clock.now
    let end = start + .milliseconds(Int(secondsPerCase * 1000))
    let perTask = try await withThrowingTaskGroup(of: [Double].self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var latencies: [Double] = []
                latencies.reserveCapacity(100_000)
                while clock.now < end && latencies.count < 2_000_000 {
                    let t0 = clock.now
                    try await call()
                    let d = clock.now - t0
                    latencies.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
                }
                return latencies
            }
        }
        var all: [[Double]] = []
        for try await latencies in group { all.append(latencies) }
        return all
    }
    let elapsed = clock.now - start
    let latencies = perTask.flatMap { $0 }
    return Result(
        operations: latencies.count,
        seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
        latencies: latencies)
}

func streamRate(_ run: @escaping @Sendable (Int32) async throws -> Int) async throws -> Double {
    _ = try await run(1000)
    let clock = ContinuousClock()
    var received = 0
    let start = clock.now
    while clock.now - start < .milliseconds(Int(secondsPerCase * 1000)) {
        received += try await run(100_000)
    }
    let elapsed = clock.now - start
    return Double(received) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

func ms(_ seconds: Double) -> String { String(format: "%.3f ms", seconds * 1000) }

let request: Peers_Echo_Msg = {
    var message = Peers_Echo_Msg()
    message.text = "hello"
    return message
}()

// Servers.
let wireServer = GRPCWire.GRPCServer(configuration: .init(host: "127.0.0.1", port: 0), services: [WireEchoService()], logger: logger)
let wireServing = Task { try await wireServer.run() }
let wirePort = try await wireServer.listeningPort()

let swiftServer = GRPCCore.GRPCServer(
    transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
    services: [SwiftEchoService()])
let swiftServing = Task { try await swiftServer.serve() }
guard let swiftPort = try await swiftServer.listeningAddress?.ipv4?.port else { fatalError("grpc-swift-2 server did not bind") }

// Clients.
let wireClient = GRPCWire.GRPCClient(configuration: .init(host: "127.0.0.1", port: wirePort), logger: logger)
let wireToSwift = GRPCWire.GRPCClient(configuration: .init(host: "127.0.0.1", port: swiftPort), logger: logger)

try await withGRPCClient(
    transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: swiftPort), transportSecurity: .plaintext)
) { swiftClient in
    try await withGRPCClient(
        transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: wirePort), transportSecurity: .plaintext)
    ) { swiftToWire in
        @Sendable func swiftCall(_ client: GRPCCore.GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Peers_Echo_Msg {
            try await client.unary(
                request: ClientRequest(message: request), descriptor: swiftUnary,
                serializer: GRPCProtobuf.ProtobufSerializer<Peers_Echo_Msg>(),
                deserializer: GRPCProtobuf.ProtobufDeserializer<Peers_Echo_Msg>(), options: .defaults
            ) { try $0.message }
        }
        // Interop both ways was checked case by case above (runInterop); this is a smoke check of
        // the measured pair.
        let b = try await swiftCall(swiftToWire)
        precondition(b.text == "hello", "interop failed")

        print("measuring \(rounds) alternating rounds of \(secondsPerCase) s per case (release build expected)")
        print("case                              GRPCWire            grpc-swift-2        ratio")
        func best(_ ours: @escaping @Sendable () async throws -> Result, _ anchor: @escaping @Sendable () async throws -> Result)
            async throws -> (Result, Result)
        {
            var bestOurs: Result?
            var bestAnchor: Result?
            for _ in 0..<rounds {
                let o = try await ours()
                if bestOurs.map({ o.rate > $0.rate }) ?? true { bestOurs = o }
                let a = try await anchor()
                if bestAnchor.map({ a.rate > $0.rate }) ?? true { bestAnchor = a }
            }
            return (bestOurs!, bestAnchor!)
        }
        for concurrency in [1, 64] {
            let (ours, anchor) = try await best(
                { try await measure(concurrency: concurrency) { _ = try await wireClient.unary(WireEcho.unary, request) } },
                { try await measure(concurrency: concurrency) { _ = try await swiftCall(swiftClient) } })
            print(String(format: "unary x%-3d calls/s               %-19.0f %-19.0f %.2fx", concurrency, ours.rate, anchor.rate, ours.rate / anchor.rate))
            print("unary x\(concurrency) p50 latency            \(ms(ours.percentile(0.5)).padding(toLength: 19, withPad: " ", startingAt: 0)) \(ms(anchor.percentile(0.5)).padding(toLength: 19, withPad: " ", startingAt: 0)) \(String(format: "%.2fx", anchor.percentile(0.5) / ours.percentile(0.5))) (ratio = anchor/ours: higher is better)")
            print("unary x\(concurrency) p99 latency            \(ms(ours.percentile(0.99)).padding(toLength: 19, withPad: " ", startingAt: 0)) \(ms(anchor.percentile(0.99)).padding(toLength: 19, withPad: " ", startingAt: 0)) \(String(format: "%.2fx", anchor.percentile(0.99) / ours.percentile(0.99)))")
        }
        var oursStream = 0.0
        var anchorStream = 0.0
        for _ in 0..<rounds {
            oursStream = max(oursStream, try await streamRate { n in
                var m = request
                m.n = n
                return try await wireClient.serverStreaming(WireEcho.serverStream, m) { responses in
                    var count = 0
                    for try await _ in responses { count += 1 }
                    return count
                }
            })
            anchorStream = max(anchorStream, try await streamRate { n in
                var m = request
                m.n = n
                return try await swiftClient.serverStreaming(
                    request: ClientRequest(message: m), descriptor: swiftServerStream,
                    serializer: GRPCProtobuf.ProtobufSerializer<Peers_Echo_Msg>(),
                    deserializer: GRPCProtobuf.ProtobufDeserializer<Peers_Echo_Msg>(), options: .defaults
                ) { response in
                    var count = 0
                    for try await _ in response.messages { count += 1 }
                    return count
                }
            })
        }
        print(String(format: "server-stream msgs/s              %-19.0f %-19.0f %.2fx", oursStream, anchorStream, oursStream / anchorStream))
    }
}

await wireClient.close()
await wireToSwift.close()
wireServer.beginGracefulShutdown()
swiftServer.beginGracefulShutdown()
_ = await wireServing.result
_ = await swiftServing.result
