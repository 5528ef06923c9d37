// KafkaWire vs librdkafka (confluent-kafka) on the same broker in the same run, interleaved:
// each round runs librdkafka, then KafkaWire, for each codec: produce N 100-byte messages to a
// fresh one-partition topic with acks=all (idempotent, as both clients default to), then consume
// them from the beginning. Prints per-round msgs/s, medians, spread and the ratios ours/anchor.
//
//   swift run -c release KafkaThroughput [--bootstrap host:port] [--messages 1000000] [--rounds 3] [--codecs none,lz4] [--codec-rounds 7] [--codec-only]
// Anchor: scripts/oracles/kafka/bench_librdkafka.py under WIRESTACK_PY. scripts/kafka-bench.sh
// starts a private Tansu broker for it and runs this.
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KafkaWire
import Logging
import NIOCore
import WireCore

struct Options {
    var bootstrap = ProcessInfo.processInfo.environment["WIRESTACK_KAFKA_BENCH"] ?? ProcessInfo.processInfo.environment["WIRESTACK_KAFKA_TANSU"] ?? "127.0.0.1:19092"
    var messages = 1_000_000
    var rounds = 3
    var python = ProcessInfo.processInfo.environment["WIRESTACK_PY"] ?? "python3"
    var codecs = ["none", "lz4"]
    /// Rounds of the record batch encode/decode measurement (0: skip it).
    var codecRounds = 7
    /// Only the record batch encode/decode measurement (no broker).
    var codecOnly = false

    init() {
        var args = CommandLine.arguments.dropFirst()
        while let a = args.popFirst() {
            switch a {
            case "--bootstrap": bootstrap = args.popFirst() ?? bootstrap
            case "--messages": messages = Int(args.popFirst() ?? "") ?? messages
            case "--rounds": rounds = Int(args.popFirst() ?? "") ?? rounds
            case "--codecs": codecs = (args.popFirst() ?? "none,lz4").split(separator: ",").map(String.init)
            case "--codec-rounds": codecRounds = Int(args.popFirst() ?? "") ?? codecRounds
            case "--codec-only": codecOnly = true
            default: break
            }
        }
    }
}

let options = Options()
let logger: Logger = {
    var logger = Logger(label: "kafka-throughput")
    logger.logLevel = .warning
    return logger
}()
let payload = ByteBuffer(repeating: 0x78, count: 100)

func newTopic(_ prefix: String) async throws -> String {
    let topic = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
    let admin = KafkaAdmin(configuration: KafkaClientConfiguration(bootstrap: options.bootstrap), logger: logger)
    try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 1, replicationFactor: 1)])
    await admin.shutdown()
    return topic
}

/// KafkaWire: (produce msgs/s, consume msgs/s, client CPU µs per message produced and consumed).
func runOurs(codec: String) async throws -> (Double, Double, Double) {
    let topic = try await newTopic("kw-bench")
    var config = KafkaProducerConfiguration(bootstrap: options.bootstrap)
    config.compression = codec == "lz4" ? .lz4 : .none
    config.linger = .milliseconds(5)
    config.acks = .all
    let producer = KafkaProducer(configuration: config, logger: logger)
    let failures = ManagedCounter()
    let cpu0 = CPUSample.now()
    let start = ContinuousClock.now
    for _ in 0..<options.messages {
        try await producer.enqueue(KafkaProducerRecord(topic: topic, partition: 0, value: payload)) { r in
            if case .failure = r { failures.increment() }
        }
    }
    await producer.flush()
    let produceTime = ContinuousClock.now - start
    let cpu1 = CPUSample.now()
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
    let cpu2 = CPUSample.now()
    await consumer.shutdown()
    let p = cpu1 - cpu0, c = cpu2 - cpu1
    print("  " + cpuNote("KafkaWire \(codec) produce", client: p.ours, broker: p.broker, wall: produceTime.seconds))
    print("  " + cpuNote("KafkaWire \(codec) consume", client: c.ours, broker: c.broker, wall: consumeTime.seconds))
    return (Double(options.messages) / produceTime.seconds, Double(n) / consumeTime.seconds, (p.ours + c.ours) * 1e6 / Double(options.messages))
}

/// librdkafka through confluent-kafka: (produce msgs/s, consume msgs/s, client CPU µs per message
/// produced and consumed: the Python process, librdkafka's threads included).
func runAnchor(codec: String) async throws -> (Double, Double, Double) {
    let topic = try await newTopic("rd-bench")
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/oracles/kafka/bench_librdkafka.py").path
    let cpu0 = CPUSample.now()
    let wall0 = ContinuousClock.now
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
    let used = CPUSample.now() - cpu0
    print("  " + cpuNote("librdkafka \(codec) produce+consume (process)", client: used.children, broker: used.broker, wall: (ContinuousClock.now - wall0).seconds))
    return (p, r, used.children * 1e6 / Double(options.messages))
}

enum BenchError: Error { case failed(String) }

/// CPU seconds (user + system) used so far by this process, by its waited-for children (the
/// anchor's Python process with librdkafka's threads) and by the broker's process group
/// (`KAFKA_BENCH_BROKER_PID`, set by scripts/kafka-bench.sh; nil without it).
struct CPUSample {
    var ours: Double
    var children: Double
    var broker: Double?

    static func now() -> CPUSample {
        func seconds(_ who: Int32) -> Double {
            var usage = rusage()
            getrusage(who, &usage)
            return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        }
        return CPUSample(ours: seconds(RUSAGE_SELF.rawValue), children: seconds(RUSAGE_CHILDREN.rawValue), broker: brokerCPU())
    }

    /// Sums utime + stime of every process in the broker's process group, from /proc.
    static func brokerCPU() -> Double? {
        guard let group = ProcessInfo.processInfo.environment["KAFKA_BENCH_BROKER_PID"].flatMap(Int.init) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = 0.0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command: state ppid pgrp ... utime (11) stime (12).
            guard fields.count > 12, Int(fields[2]) == group, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            total += (user + system) / ticks
        }
        return total
    }

    static func - (a: CPUSample, b: CPUSample) -> CPUSample {
        CPUSample(ours: a.ours - b.ours, children: a.children - b.children, broker: a.broker.flatMap { x in b.broker.map { x - $0 } })
    }
}

func cpuNote(_ label: String, client: Double, broker: Double?, wall: Double) -> String {
    let b = broker.map { String(format: ", broker %.1f s (%.0f%% of one core)", $0, 100 * $0 / wall) } ?? ""
    return String(format: "%@: %.1f s wall, client %.1f s CPU%@", label, wall, client, b)
}

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

if options.codecOnly {
    measureCodec(rounds: max(options.codecRounds, 1))
    exit(0)
}
print("KafkaWire vs librdkafka: \(options.messages) x 100 B, acks=all, broker \(options.bootstrap), \(options.rounds) interleaved rounds")
var rows: [String: (ours: [Double], anchor: [Double])] = [:]
var cpuRows: [String: (ours: [Double], anchor: [Double])] = [:]
for round in 1...options.rounds {
    for codec in options.codecs {
        let a = try await runAnchor(codec: codec)
        let o = try await runOurs(codec: codec)
        print("round \(round) \(codec): librdkafka produce \(fmt(a.0)) consume \(fmt(a.1)) | KafkaWire produce \(fmt(o.0)) consume \(fmt(o.1)) msgs/s")
        rows["produce \(codec)", default: ([], [])].ours.append(o.0)
        rows["produce \(codec)", default: ([], [])].anchor.append(a.0)
        rows["consume \(codec)", default: ([], [])].ours.append(o.1)
        rows["consume \(codec)", default: ([], [])].anchor.append(a.1)
        cpuRows[codec, default: ([], [])].ours.append(o.2)
        cpuRows[codec, default: ([], [])].anchor.append(a.2)
    }
}
print("\n| operation | KafkaWire msgs/s (median, min-max) | librdkafka msgs/s (median, min-max) | ratio of medians | per-round ratios |")
print("|---|---|---|---|---|")
for key in rows.keys.sorted() {
    let r = rows[key]!
    let ratios = zip(r.ours, r.anchor).map { String(format: "%.2f", $0 / $1) }.joined(separator: ", ")
    print("| \(key) | \(fmt(median(r.ours))) (\(fmt(r.ours.min()!))-\(fmt(r.ours.max()!))) | \(fmt(median(r.anchor))) (\(fmt(r.anchor.min()!))-\(fmt(r.anchor.max()!))) | \(String(format: "%.2fx", median(r.ours) / median(r.anchor))) | \(ratios) |")
}
print("\n| client CPU per message, produce + consume | KafkaWire µs (median, min-max) | librdkafka via Python µs (median, min-max) |")
print("|---|---|---|")
for key in cpuRows.keys.sorted() {
    let r = cpuRows[key]!
    print(String(format: "| %@ | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) |", key, median(r.ours), r.ours.min()!, r.ours.max()!, median(r.anchor), r.anchor.min()!, r.anchor.max()!))
}
if options.codecRounds > 0 { measureCodec(rounds: options.codecRounds) }

// MARK: record batch codec speed (no broker)

/// Encode and decode of one ~1 MB uncompressed batch of 100-byte records, interleaved with a memcpy
/// and a CRC32C of the same size (the anchors: one read and one write of the bytes; one read of them,
/// which decode must do to verify the batch). GB/s of batch bytes per CPU-second of the measuring
/// thread, and per wall-second.
func measureCodec(rounds: Int) {
    var writer = KafkaRecordBatchWriter(capacity: 1 << 21)
    while writer.sizeInBytes < 1_000_000 { writer.append(key: nil, value: payload, headers: [], timestamp: 1_700_000_000_000) }
    let count = Int(writer.recordCount)
    let encoded = try! writer.finished()
    let bytes = Double(encoded.readableBytes)
    let source = [UInt8](repeating: 0x5A, count: encoded.readableBytes)
    var target = [UInt8](repeating: 0, count: source.count)
    // CPU time of this thread, not wall time: on the shared, loaded machine a thread is descheduled
    // much of the time, which wall time counts against whichever loop it happens in. Both are printed.
    func clock(_ id: clockid_t) -> Double {
        var t = timespec()
        clock_gettime(id, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    struct Sample { var cpu: [Double] = []; var wall: [Double] = [] }
    func timed(_ iterations: Int, into sample: inout Sample, _ body: () -> Void) {
        let cpu = clock(CLOCK_THREAD_CPUTIME_ID), wall = clock(CLOCK_MONOTONIC)
        for _ in 0..<iterations { body() }
        let total = bytes * Double(iterations) / 1e9
        sample.cpu.append(total / (clock(CLOCK_THREAD_CPUTIME_ID) - cpu))
        sample.wall.append(total / (clock(CLOCK_MONOTONIC) - wall))
    }
    var enc = Sample(), dec = Sample(), decRead = Sample(), decSlice = Sample(), copy = Sample(), crc = Sample()
    var sink = 0
    for _ in 0..<rounds {
        timed(200, into: &copy) {
            source.withUnsafeBytes { src in target.withUnsafeMutableBytes { dst in dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: src.count) } }
            sink &+= Int(target[sink & 1023])
        }
        timed(200, into: &crc) {
            sink &+= Int(encoded.withUnsafeReadableBytes { CRC32C.checksum($0) } & 1)
        }
        timed(50, into: &enc) {
            var w = KafkaRecordBatchWriter(capacity: 1 << 21)
            for _ in 0..<count { w.append(key: nil, value: payload, headers: [], timestamp: 1_700_000_000_000) }
            sink &+= w.finishInPlace().readableBytes
        }
        timed(50, into: &dec) {
            sink &+= (try? KafkaRecordBatchDecoder.decode(encoded))?.first?.records.count ?? 0
        }
        timed(50, into: &decRead) {
            for batch in (try? KafkaRecordBatchDecoder.decode(encoded)) ?? [] {
                for record in batch.records { sink &+= Int(record.offset) &+ Int(record.timestamp) &+ (record.valueCount ?? 0) }
            }
        }
        timed(50, into: &decSlice) {
            for batch in (try? KafkaRecordBatchDecoder.decode(encoded)) ?? [] {
                for record in batch.records { sink &+= Int(record.offset) &+ (record.value?.readableBytes ?? 0) }
            }
        }
    }
    func row(_ name: String, _ s: Sample) -> String {
        String(format: "| %@ | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | %.3f | %.3f |", name, median(s.cpu), s.cpu.min()!, s.cpu.max()!,
               median(s.wall), s.wall.min()!, s.wall.max()!, median(s.cpu) / median(copy.cpu), median(s.cpu) / median(crc.cpu))
    }
    print("\nrecord batch codec, \(count) x 100 B records, \(Int(bytes)) bytes, \(rounds) interleaved rounds (sink \(sink & 1))")
    print("| operation | GB/s per CPU-second (median, min-max) | GB/s per wall-second (median, min-max) | fraction of memcpy | fraction of CRC32C |")
    print("|---|---|---|---|---|")
    print(row("encode (append + finishInPlace, CRC32C)", enc))
    print(row("decode (CRC32C + validate and index every record)", dec))
    print(row("decode + read every record (offset, timestamp, value size)", decRead))
    print(row("decode + slice every value (a ByteBuffer per record)", decSlice))
    print(row("anchor: memcpy", copy))
    print(row("anchor: CRC32C", crc))
}
