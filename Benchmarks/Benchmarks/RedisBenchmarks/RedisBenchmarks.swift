// RedisWire vs redis-benchmark (C), same server, same run.
//
//   swift run -c release --package-path Benchmarks RedisBenchmarks [--url redis://127.0.0.1:16379]
//       [--requests 100000] [--pipelined-requests 1000000] [--clients 50] [--rounds 5]
//       [--only client|dedicated|affinity --test get|set --pipeline N]
//
// For GET and SET, unpipelined and with 16 commands per pipeline, runs redis-benchmark
// (-c clients -n requests -t get,set [-P 16] --csv) and then RedisWire with the same number of
// concurrent callers and the same pipeline depth. Pipelined runs send `--pipelined-requests`
// (default ten times as many: at 16 commands per round trip 100000 requests take a fraction of a
// second, too short to measure on a shared machine). Each mode runs `rounds` times, anchor and
// RedisWire interleaved (the order of the RedisWire shapes rotates every round), so load from
// other processes hits all of them alike. Each RedisWire run is divided by the redis-benchmark run
// of the same round; the tables show the median of those ratios and their spread (min-max).
//
// RedisWire is measured in three shapes:
// - client:    50 callers through one RedisClient (pooled connections, automatic pipelining:
//              the way an application uses it);
// - dedicated: one RedisConnection per caller (redis-benchmark's connection shape), callers on
//              Swift's global executor: every round trip crosses from the event loop to the
//              cooperative pool and back;
// - affinity:  the same dedicated connections, each caller running on its connection's event loop
//              (`withEventLoopAffinity`: no thread handoff per round trip, redis-benchmark's
//              single-threaded event-loop shape).
// Beside requests/s it prints CPU time (user+system, getrusage: redis-benchmark as a child
// process, RedisWire as this process) and context switches per request: what each client costs,
// independent of how much of the loaded machine it got.
//
// `--only <shape>` runs one RedisWire shape once, without the anchor (for `strace -c -f` / perf).
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import RedisWire

struct Options {
    var url = "redis://127.0.0.1:16379"
    var requests = 100_000
    var pipelinedRequests = 1_000_000
    var clients = 50
    var rounds = 5
    var only: String?
    var test = "get"
    var pipeline = 1
    init() {
        var args = CommandLine.arguments.dropFirst()
        while let a = args.popFirst() {
            switch a {
            case "--url": url = args.popFirst() ?? url
            case "--requests": requests = Int(args.popFirst() ?? "") ?? requests
            case "--pipelined-requests": pipelinedRequests = Int(args.popFirst() ?? "") ?? pipelinedRequests
            case "--clients": clients = Int(args.popFirst() ?? "") ?? clients
            case "--rounds": rounds = max(1, Int(args.popFirst() ?? "") ?? rounds)
            case "--only": only = args.popFirst()
            case "--test": test = args.popFirst() ?? test
            case "--pipeline": pipeline = Int(args.popFirst() ?? "") ?? pipeline
            default: break
            }
        }
    }
}

func redisBenchmark(host: String, port: Int, clients: Int, requests: Int, test: String, pipeline: Int) throws -> Double {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/redis-benchmark")
    p.arguments = ["-h", host, "-p", "\(port)", "-c", "\(clients)", "-n", "\(requests)", "-t", test, "-P", "\(pipeline)", "--csv"]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    // "test","rps","avg_latency_ms",...  then  "SET","86580.09",...
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        if fields.count > 1, fields[0].uppercased() == test.uppercased(), let rps = Double(fields[1]) { return rps }
    }
    throw NSError(domain: "redis-benchmark", code: 1, userInfo: [NSLocalizedDescriptionKey: "no result in: \(String(decoding: data, as: UTF8.self))"])
}

/// CPU seconds (user + system) and context switches (voluntary + involuntary) so far, of this
/// process or of its waited-for children.
func usage(children: Bool) -> (cpu: Double, switches: Double) {
    var usage = rusage()
    getrusage(children ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return (seconds(usage.ru_utime) + seconds(usage.ru_stime), Double(usage.ru_nvcsw + usage.ru_nivcsw))
}

struct Sample {
    var rps: Double
    /// CPU microseconds per request.
    var cpu: Double
    /// Context switches per request.
    var switches: Double
}

/// Runs `body` (which performs `requests` requests and returns requests/s) and samples its cost.
func measured(requests: Int, children: Bool, isolation: isolated (any Actor)? = #isolation,
              _ body: () async throws -> Double) async throws -> Sample {
    let before = usage(children: children)
    let rps = try await body()
    let after = usage(children: children)
    return Sample(rps: rps, cpu: (after.cpu - before.cpu) * 1e6 / Double(requests),
                  switches: (after.switches - before.switches) / Double(requests))
}

func command(_ test: String) -> RedisCommand {
    test == "set" ? RedisCommand("SET", ["key:__rand_int__", "xxx"], keyIndices: [0])
                  : RedisCommand("GET", ["key:__rand_int__"], keyIndices: [0], isReadOnly: true)
}

/// Runs `requests` commands from `clients` concurrent callers, `pipeline` commands at a time.
func measure(clients: Int, requests: Int, pipeline: Int, send: @escaping @Sendable (Int, [RedisCommand]) async throws -> Void,
             affinity: (@Sendable (Int) -> RedisConnection)? = nil, test: String) async throws -> Double {
    let perClient = requests / clients
    let batch = Array(repeating: command(test), count: pipeline)
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for c in 0..<clients {
            group.addTask {
                let loop: @Sendable () async throws -> Void = {
                    var done = 0
                    while done < perClient {
                        try await send(c, batch)
                        done += pipeline
                    }
                }
                if let affinity { try await affinity(c).withEventLoopAffinity(loop) } else { try await loop() }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = start.duration(to: .now)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Double((perClient + pipeline - 1) / pipeline * pipeline * clients) / seconds
}

enum Shape: String, CaseIterable {
    case client, dedicated, affinity
}

@main
struct RedisBenchmarks {
    static func main() async throws {
        let options = Options()
        var logger = Logger(label: "RedisBenchmarks")
        logger.logLevel = .warning
        let configuration = try RedisConnectionConfiguration(url: options.url)
        guard case .tcp(let host, let port) = configuration.transport.endpoint else { fatalError("TCP URL needed") }
        let client = RedisClient(configuration: RedisClientConfiguration(connection: configuration), logger: logger)
        let runTask = Task { try await client.run() }
        var dedicated: [RedisConnection] = []
        for _ in 0..<options.clients {
            dedicated.append(try await RedisConnection.connect(configuration: configuration, logger: logger))
        }
        let connections = dedicated
        _ = try await client.set("key:__rand_int__", to: "xxx")

        func run(_ shape: Shape, test: String, pipeline: Int, requests n: Int) async throws -> Sample {
            let send: @Sendable (Int, [RedisCommand]) async throws -> Void
            switch shape {
            case .client:
                send = { _, batch in
                    if batch.count == 1 { _ = try await client.send(batch[0]) } else { _ = try await client.pipeline(batch) }
                }
            case .dedicated, .affinity:
                send = { c, batch in
                    if batch.count == 1 { _ = try await connections[c].send(batch[0]) } else { _ = try await connections[c].pipeline(batch) }
                }
            }
            var affinity: (@Sendable (Int) -> RedisConnection)?
            if shape == .affinity { affinity = { c in connections[c] } }
            let loopAffinity = affinity
            return try await measured(requests: n, children: false) {
                try await measure(clients: options.clients, requests: n, pipeline: pipeline, send: send,
                                  affinity: loopAffinity, test: test)
            }
        }

        if let only = options.only {
            guard let shape = Shape(rawValue: only) else { fatalError("--only client|dedicated|affinity") }
            let s = try await run(shape, test: options.test, pipeline: options.pipeline, requests: options.requests)
            let numbers = String(format: "%.0f requests/s, %.2f CPU µs/request, %.3f context switches/request", s.rps, s.cpu, s.switches)
            print("\(shape.rawValue) \(options.test.uppercased()) P\(options.pipeline): \(numbers)")
        } else {
            print("RedisWire vs redis-benchmark: \(options.clients) concurrent clients, \(options.requests) requests per unpipelined run, \(options.pipelinedRequests) per pipelined run, server \(host):\(port), \(options.rounds) interleaved rounds")
            print("ratio = RedisWire requests/s ÷ redis-benchmark requests/s of the same round: median [min-max]")
            print("test pipeline  redis-benchmark rps [min-max]   RedisClient (ratio)       dedicated (ratio)         dedicated+affinity (ratio)")
            func median(_ values: [Double]) -> Double {
                let s = values.sorted()
                return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
            }
            var costRows: [String] = []
            for pipeline in [1, 16] {
                let requests = pipeline == 1 ? options.requests : options.pipelinedRequests
                for test in ["set", "get"] {
                    var anchor: [Sample] = []
                    var ours: [Shape: [Sample]] = [:]
                    for round in 0..<options.rounds {
                        anchor.append(try await measured(requests: requests, children: true) {
                            try redisBenchmark(host: host, port: port, clients: options.clients, requests: requests, test: test, pipeline: pipeline)
                        })
                        let shapes = Shape.allCases
                        for i in 0..<shapes.count {
                            let shape = shapes[(i + round) % shapes.count]
                            ours[shape, default: []].append(try await run(shape, test: test, pipeline: pipeline, requests: requests))
                        }
                    }
                    var line = String(format: "%-4@ %8d  %9.0f [%6.0f-%6.0f]", test.uppercased() as NSString, pipeline,
                                      median(anchor.map(\.rps)), anchor.map(\.rps).min()!, anchor.map(\.rps).max()!)
                    var cost = String(format: "%-4@ %8d  %6.2f µs %5.2f cs", test.uppercased() as NSString, pipeline,
                                      median(anchor.map(\.cpu)), median(anchor.map(\.switches)))
                    for shape in Shape.allCases {
                        let samples = ours[shape]!
                        let ratios = zip(samples, anchor).map { $0.rps / $1.rps }
                        line += String(format: "   %7.0f %.2fx [%.2f-%.2f]", median(samples.map(\.rps)), median(ratios), ratios.min()!, ratios.max()!)
                        cost += String(format: "   %6.2f µs %5.2f cs", median(samples.map(\.cpu)), median(samples.map(\.switches)))
                    }
                    print(line)
                    costRows.append(cost)
                }
            }
            print("")
            print("Cost per request (medians): CPU microseconds (user+system) and context switches")
            print("test pipeline  redis-benchmark      RedisClient          dedicated            dedicated+affinity")
            for row in costRows { print(row) }
        }
        for c in connections { await c.close() }
        runTask.cancel()
        _ = try? await runTask.value
    }
}
