// KafkaWire vs librdkafka (confluent-kafka) on the same broker in the same run, interleaved:
// each round runs librdkafka, then KafkaWire, for each codec: produce N 100-byte messages to a
// fresh one-partition topic with acks=all (idempotent, as both clients default to), then consume
// them from the beginning. Prints per-round msgs/s, medians, spread and the ratios ours/anchor.
//
//   swift run -c release KafkaThroughput [--bootstrap host:port] [--messages 1000000] [--rounds 3]
// Anchor: scripts/oracles/kafka/bench_librdkafka.py under WIRESTACK_PY. scripts/kafka-bench.sh
// starts a private Tansu broker for it and runs this.
import Foundation
import KafkaWire
import Logging
import NIOCore

struct Options {
    var bootstrap = ProcessInfo.processInfo.environment["WIRESTACK_KAFKA_BENCH"] ?? ProcessInfo.processInfo.environment["WIRESTACK_KAFKA_TANSU"] ?? "127.0.0.1:19092"
    var messages = 1_000_000
    var rounds = 3
    var python = ProcessInfo.processInfo.environment["WIRESTACK_PY"] ?? "python3"
    var codecs = ["none", "lz4"]

    init() {
        var args = CommandLine.arguments.dropFirst()
        while let a = args.popFirst() {
            switch a {
            case "--bootstrap": bootstrap = args.popFirst() ?? bootstrap
            case "--messages": messages = Int(args.popFirst() ?? "") ?? messages
            case "--rounds": rounds = Int(args.popFirst() ?? "") ?? rounds
            case "--codecs": codecs = (args.popFirst() ?? "none,lz4").split(separator: ",").map(String.init)
            default: break
            }
        }
    }
}

let options = Options()
var logger = Logger(label: "kafka-throughput")
logger.logLevel = .warning
let payload = ByteBuffer(repeating: 0x78, count: 100)

func newTopic(_ prefix: String) async throws -> String {
    let topic = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
    let admin = KafkaAdmin(configuration: KafkaClientConfiguration(bootstrap: options.bootstrap), logger: logger)
    try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 1, replicationFactor: 1)])
    await admin.shutdown()
    return topic
}

/// KafkaWire: (produce msgs/s, consume msgs/s).
func runOurs(codec: String) async throws -> (Double, Double) {
    let topic = try await newTopic("kw-bench")
    var config = KafkaProducerConfiguration(bootstrap: options.bootstrap)
    config.compression = codec == "lz4" ? .lz4 : .none
    config.linger = .milliseconds(5)
    config.acks = .all
    let producer = KafkaProducer(configuration: config, logger: logger)
    let failures = ManagedCounter()
    let start = ContinuousClock.now
    for _ in 0..<options.messages {
        try await producer.enqueue(KafkaProducerRecord(topic: topic, partition: 0, value: payload)) { r in
            if case .failure = r { failures.increment() }
        }
    }
    await producer.flush()
    let produceTime = ContinuousClock.now - start
    await producer.shutdown()
    if failures.value > 0 { throw BenchError.failed("\(failures.value) KafkaWire deliveries failed") }

    var cconfig = KafkaConsumerConfiguration(bootstrap: options.bootstrap)
    cconfig.fetchMaxBytes = 50 * 1024 * 1024
    cconfig.partitionMaxBytes = 8 * 1024 * 1024
    let consumer = KafkaConsumer(configuration: cconfig, logger: logger)
    consumer.assign([KafkaTopicPartition(topic, 0): .earliest])
    let cstart = ContinuousClock.now
    var n = 0
    for try await batch in consumer.batches() {
        n += batch.count
        if n >= options.messages { break }
    }
    let consumeTime = ContinuousClock.now - cstart
    await consumer.shutdown()
    return (Double(options.messages) / produceTime.seconds, Double(n) / consumeTime.seconds)
}

/// librdkafka through confluent-kafka: (produce msgs/s, consume msgs/s).
func runAnchor(codec: String) async throws -> (Double, Double) {
    let topic = try await newTopic("rd-bench")
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/oracles/kafka/bench_librdkafka.py").path
    let out: String = try await withCheckedThrowingContinuation { c in
        // A thread of its own: the cooperative pool stays free while Python runs.
        Thread.detachNewThread {
            do {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: options.python)
                process.arguments = [script, options.bootstrap, topic, "\(options.messages)", codec, "all"]
                let pipe = Pipe()
                process.standardOutput = pipe
                try process.run()
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { throw BenchError.failed("anchor exited with \(process.terminationStatus)") }
                c.resume(returning: String(decoding: data, as: UTF8.self))
            } catch { c.resume(throwing: error) }
        }
    }
    guard let line = out.split(separator: "\n").last,
          let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
          let p = json["produce_msgs_per_s"] as? Double, let r = json["consume_msgs_per_s"] as? Double else {
        throw BenchError.failed("anchor output: \(out)")
    }
    return (p, r)
}

enum BenchError: Error { case failed(String) }

final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fmt(_ x: Double) -> String { String(format: "%.0f", x) }

print("KafkaWire vs librdkafka: \(options.messages) x 100 B, acks=all, broker \(options.bootstrap), \(options.rounds) interleaved rounds")
var rows: [String: (ours: [Double], anchor: [Double])] = [:]
for round in 1...options.rounds {
    for codec in options.codecs {
        let a = try await runAnchor(codec: codec)
        let o = try await runOurs(codec: codec)
        print("round \(round) \(codec): librdkafka produce \(fmt(a.0)) consume \(fmt(a.1)) | KafkaWire produce \(fmt(o.0)) consume \(fmt(o.1)) msgs/s")
        rows["produce \(codec)", default: ([], [])].ours.append(o.0)
        rows["produce \(codec)", default: ([], [])].anchor.append(a.0)
        rows["consume \(codec)", default: ([], [])].ours.append(o.1)
        rows["consume \(codec)", default: ([], [])].anchor.append(a.1)
    }
}
print("\n| operation | KafkaWire msgs/s (median, min-max) | librdkafka msgs/s (median, min-max) | ratio of medians | per-round ratios |")
print("|---|---|---|---|---|")
for key in rows.keys.sorted() {
    let r = rows[key]!
    let ratios = zip(r.ours, r.anchor).map { String(format: "%.2f", $0 / $1) }.joined(separator: ", ")
    print("| \(key) | \(fmt(median(r.ours))) (\(fmt(r.ours.min()!))-\(fmt(r.ours.max()!))) | \(fmt(median(r.anchor))) (\(fmt(r.anchor.min()!))-\(fmt(r.anchor.max()!))) | \(String(format: "%.2fx", median(r.ours) / median(r.anchor))) | \(ratios) |")
}
