// RedisWire vs redis-benchmark (C), same server, same run.
//
//   swift run -c release --package-path Benchmarks RedisBenchmarks [--url redis://127.0.0.1:16379] [--requests 200000] [--clients 50] [--rounds 3]
//
// For GET and SET, unpipelined and with 16 commands per pipeline, runs redis-benchmark
// (-c clients -n requests -t get,set [-P 16] --csv) and then RedisWire with the same number of
// concurrent callers and the same pipeline depth, and prints requests/s and the ratio.
// Each mode runs `rounds` times, anchor and RedisWire interleaved, so load from other processes
// hits both alike; the table shows the median of each and the ratio of the medians.
// RedisWire is measured twice: through RedisClient (shared connections, automatic pipelining:
// the way an application uses it) and with one dedicated RedisConnection per caller (the same
// connection shape as redis-benchmark).
import Foundation
import Logging
import RedisWire

struct Options {
    var url = "redis://127.0.0.1:16379"
    var requests = 200_000
    var clients = 50
    var rounds = 3
    init() {
        var args = CommandLine.arguments.dropFirst()
        while let a = args.popFirst() {
            switch a {
            case "--url": url = args.popFirst() ?? url
            case "--requests": requests = Int(args.popFirst() ?? "") ?? requests
            case "--clients": clients = Int(args.popFirst() ?? "") ?? clients
            case "--rounds": rounds = max(1, Int(args.popFirst() ?? "") ?? rounds)
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

func command(_ test: String) -> RedisCommand {
    test == "set" ? RedisCommand("SET", ["key:__rand_int__", "xxx"], keyIndices: [0])
                  : RedisCommand("GET", ["key:__rand_int__"], keyIndices: [0], isReadOnly: true)
}

/// Runs `requests` commands from `clients` concurrent callers, `pipeline` commands at a time.
func measure(clients: Int, requests: Int, pipeline: Int, send: @escaping @Sendable (Int, [RedisCommand]) async throws -> Void,
             test: String) async throws -> Double {
    let perClient = requests / clients
    let batch = Array(repeating: command(test), count: pipeline)
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for c in 0..<clients {
            group.addTask {
                var done = 0
                while done < perClient {
                    try await send(c, batch)
                    done += pipeline
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = start.duration(to: .now)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Double((perClient + pipeline - 1) / pipeline * pipeline * clients) / seconds
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

        print("RedisWire vs redis-benchmark: \(options.clients) concurrent clients, \(options.requests) requests per test, server \(host):\(port), median of \(options.rounds) interleaved rounds")
        print("test  pipeline  redis-benchmark rps  RedisClient rps (ratio)  dedicated connections rps (ratio)")
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        for pipeline in [1, 16] {
            for test in ["set", "get"] {
                var anchors: [Double] = []
                var pooledRuns: [Double] = []
                var directRuns: [Double] = []
                for _ in 0..<options.rounds {
                    anchors.append(try redisBenchmark(host: host, port: port, clients: options.clients, requests: options.requests, test: test, pipeline: pipeline))
                    pooledRuns.append(try await measure(clients: options.clients, requests: options.requests, pipeline: pipeline, send: { _, batch in
                        if batch.count == 1 { _ = try await client.send(batch[0]) } else { _ = try await client.pipeline(batch) }
                    }, test: test))
                    directRuns.append(try await measure(clients: options.clients, requests: options.requests, pipeline: pipeline, send: { c, batch in
                        if batch.count == 1 { _ = try await connections[c].send(batch[0]) } else { _ = try await connections[c].pipeline(batch) }
                    }, test: test))
                }
                let anchor = median(anchors), pooled = median(pooledRuns), direct = median(directRuns)
                print(String(format: "%-5@ %8d  %19.0f  %15.0f (%.2fx)  %25.0f (%.2fx)", test.uppercased() as NSString, pipeline,
                             anchor, pooled, pooled / anchor, direct, direct / anchor))
            }
        }
        for c in connections { await c.close() }
        runTask.cancel()
        _ = try? await runTask.value
    }
}
