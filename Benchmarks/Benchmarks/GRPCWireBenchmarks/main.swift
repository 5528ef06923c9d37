// GRPCWire vs grpc-swift-2 (2.4.3 + grpc-swift-nio-transport 2.9.2 + grpc-swift-protobuf 2.4.1),
// measured in the same process and run, each stack serving and calling itself over loopback h2c:
// - unary echo calls/s with 1 and 64 concurrent callers, with p50/p99 call latency;
// - server-streaming messages/s;
// - CPU time per call (user+sys of the whole process, client and server of that stack), which a
//   loaded machine disturbs much less than wall-clock rates.
// First runs the interop cases both ways (Interop.swift); a failing case fails the run.
// Each case alternates the two stacks (ours, anchor, ours, anchor, ...) for `rounds` rounds; the
// report gives, per row, the median of the per-round ratios and their spread (min..max).
// Run: `swift run -c release GRPCWireBenchmarks [seconds per round] [rounds] [--no-interop]`,
//      `... interop` (interop only),
//      `... profile <unary1|unary64|stream> <ours|anchor> [seconds]` (one stack, one case: for perf),
//      `... memory [calls] [connections]` (server bytes per idle open server-streaming call, all on one
//      connection or each on its own; see Memory.swift).
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import GRPCWire
import Logging

let arguments = Array(CommandLine.arguments.dropFirst())
let positional = arguments.filter { !$0.hasPrefix("--") }
let mode = positional.first.flatMap { Double($0) == nil ? $0 : nil } ?? "compare"
let logger = Logger(label: "bench")

if mode == "memory" {
    try await runMemory(
        calls: positional.dropFirst().first.flatMap { Int($0) } ?? 2000,
        connectionPerCall: positional.dropFirst(2).first == "connections", logger: logger)
    exit(0)
}
if mode == "memory-client" {
    try await runMemoryClient(
        port: Int(positional[1])!, calls: Int(positional[2])!, connectionPerCall: positional.dropFirst(3).first == "connections",
        logger: logger)
    exit(0)
}
let profileCase = mode == "profile" ? positional.dropFirst().first ?? "unary64" : nil
let profileSide = mode == "profile" ? positional.dropFirst(2).first ?? "ours" : nil
let secondsPerCase: Double = {
    if mode == "profile" { return positional.dropFirst(3).first.flatMap { Double($0) } ?? 10 }
    return positional.first.flatMap { Double($0) } ?? 3.0
}()
let rounds = mode == "compare" ? (positional.dropFirst().first.flatMap { Int($0) } ?? 5) : 1

if mode == "interop" || (mode == "compare" && !arguments.contains("--no-interop")) {
    let interopFailures = try await runInterop(logger: logger)
    if interopFailures > 0 || mode == "interop" {
        exit(interopFailures > 0 ? 1 : 0)
    }
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
    var cpuSeconds: Double
    var latencies: [Double]  // seconds, per call
    var rate: Double { Double(operations) / seconds }
    var cpuPerOperation: Double { cpuSeconds / Double(max(operations, 1)) }
    func percentile(_ p: Double) -> Double {
        guard !latencies.isEmpty else { return .nan }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

/// User plus system CPU time of this process so far, in seconds.
func cpuTime() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// Runs `call` from `concurrency` tasks for `secondsPerCase` (bounded by a call cap).
func measure(concurrency: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> Result {
    // Warm-up.
    for _ in 0..<200 { try await call() }
    let clock = ContinuousClock()
    let cpuStart = cpuTime()
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
                    latencies.append(seconds(clock.now - t0))
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
        operations: latencies.count, seconds: seconds(elapsed), cpuSeconds: cpuTime() - cpuStart, latencies: latencies)
}

func streamRate(_ run: @escaping @Sendable (Int32) async throws -> Int) async throws -> Result {
    _ = try await run(1000)
    let clock = ContinuousClock()
    var received = 0
    let cpuStart = cpuTime()
    let start = clock.now
    while clock.now - start < .milliseconds(Int(secondsPerCase * 1000)) {
        received += try await run(100_000)
    }
    return Result(operations: received, seconds: seconds(clock.now - start), cpuSeconds: cpuTime() - cpuStart, latencies: [])
}

func ms(_ seconds: Double) -> String { String(format: "%.3f ms", seconds * 1000) }

/// The median and spread of a row's per-round values.
struct Row {
    var name: String
    var ours: [Double] = []
    var anchor: [Double] = []
    /// true: higher is better (rates); false: lower is better (latency, CPU); the ratio is always "how many times better".
    var higherIsBetter: Bool
    var unit: String

    var ratios: [Double] { zip(ours, anchor).map { higherIsBetter ? $0 / $1 : $1 / $0 } }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    func format(_ value: Double) -> String {
        switch unit {
        case "ms": return String(format: "%.3f ms", value * 1000)
        case "us": return String(format: "%.1f us", value * 1e6)
        default: return String(format: "%.0f", value)
        }
    }

    var line: String {
        let r = ratios
        let spread = String(format: "%.2f..%.2f", r.min() ?? .nan, r.max() ?? .nan)
        return name.padding(toLength: 26, withPad: " ", startingAt: 0)
            + format(Row.median(ours)).padding(toLength: 14, withPad: " ", startingAt: 0)
            + format(Row.median(anchor)).padding(toLength: 14, withPad: " ", startingAt: 0)
            + String(format: "%.2fx", Row.median(r)).padding(toLength: 8, withPad: " ", startingAt: 0)
            + spread
    }
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

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

        @Sendable func wireStream(_ n: Int32) async throws -> Int {
            var m = request
            m.n = n
            return try await wireClient.serverStreaming(WireEcho.serverStream, m) { responses in
                var count = 0
                for try await _ in responses { count += 1 }
                return count
            }
        }
        @Sendable func swiftStream(_ n: Int32) async throws -> Int {
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
        }
        func unaryCase(_ concurrency: Int, ours: Bool) async throws -> Result {
            if ours {
                return try await measure(concurrency: concurrency) { _ = try await wireClient.unary(WireEcho.unary, request) }
            }
            return try await measure(concurrency: concurrency) { _ = try await swiftCall(swiftClient) }
        }

        if let profileCase, let profileSide {
            // One stack, one case, for `perf record`.
            let ours = profileSide == "ours"
            let result: Result
            switch profileCase {
            case "unary1": result = try await unaryCase(1, ours: ours)
            case "stream": result = try await streamRate(ours ? wireStream : swiftStream)
            default: result = try await unaryCase(64, ours: ours)
            }
            print(String(format: "%@ %@: %.0f ops/s, %.1f us CPU/op, p50 %@, p99 %@", profileCase, profileSide,
                result.rate, result.cpuPerOperation * 1e6, ms(result.percentile(0.5)), ms(result.percentile(0.99))))
            return
        }

        print("measuring \(rounds) alternating rounds (ours, anchor, ...) of \(secondsPerCase) s per case; load average before: \(loadAverage())")
        var rows: [Row] = []
        for concurrency in [1, 64] {
            var rate = Row(name: "unary x\(concurrency) calls/s", higherIsBetter: true, unit: "")
            var p50 = Row(name: "unary x\(concurrency) p50 latency", higherIsBetter: false, unit: "ms")
            var p99 = Row(name: "unary x\(concurrency) p99 latency", higherIsBetter: false, unit: "ms")
            var cpu = Row(name: "unary x\(concurrency) CPU per call", higherIsBetter: false, unit: "us")
            for _ in 0..<rounds {
                for ours in [true, false] {
                    let r = try await unaryCase(concurrency, ours: ours)
                    if ours {
                        rate.ours.append(r.rate); p50.ours.append(r.percentile(0.5)); p99.ours.append(r.percentile(0.99))
                        cpu.ours.append(r.cpuPerOperation)
                    } else {
                        rate.anchor.append(r.rate); p50.anchor.append(r.percentile(0.5)); p99.anchor.append(r.percentile(0.99))
                        cpu.anchor.append(r.cpuPerOperation)
                    }
                }
            }
            rows += [rate, p50, p99, cpu]
        }
        var stream = Row(name: "server-stream msgs/s", higherIsBetter: true, unit: "")
        var streamCPU = Row(name: "server-stream CPU per msg", higherIsBetter: false, unit: "us")
        for _ in 0..<rounds {
            let o = try await streamRate(wireStream)
            stream.ours.append(o.rate); streamCPU.ours.append(o.cpuPerOperation)
            let a = try await streamRate(swiftStream)
            stream.anchor.append(a.rate); streamCPU.anchor.append(a.cpuPerOperation)
        }
        rows += [stream, streamCPU]
        print("load average after: \(loadAverage())")
        print("case".padding(toLength: 26, withPad: " ", startingAt: 0) + "GRPCWire      grpc-swift-2  ratio   spread (per-round ratios; >1 = GRPCWire better)")
        for row in rows { print(row.line) }
    }
}

await wireClient.close()
await wireToSwift.close()
wireServer.beginGracefulShutdown()
swiftServer.beginGracefulShutdown()
_ = await wireServing.result
_ = await swiftServing.result
