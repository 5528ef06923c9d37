import ChatServer
import ChatWire
import Dispatch
import Foundation
import NIOHTTP1
import Synchronization
import Testing

/// Runs `scripts/<script> <command>` on a dedicated thread (never blocking the cooperative pool)
/// with `environment` added. Its output goes to a file: a server it starts could inherit the
/// script's descriptors, so a pipe might never reach end-of-file.
func faultScript(_ script: String, _ command: String, environment extra: [String: String] = [:]) async throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent("scripts/\(script)").path
    return try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [path, command]
            process.environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
            let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("fault-\(UUID().uuidString).out").path
            _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: outputPath) }
            do {
                let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
                process.standardOutput = output
                try process.run()
                process.waitUntilExit()
                try? output.close()
                let data = FileManager.default.contents(atPath: outputPath) ?? Data()
                guard process.terminationStatus == 0 else {
                    continuation.resume(throwing: FaultScriptError(script: script, command: command, status: process.terminationStatus))
                    return
                }
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

struct FaultScriptError: Error, CustomStringConvertible {
    var script: String
    var command: String
    var status: Int32
    var description: String { "scripts/\(script) \(command) exited with \(status)" }
}

/// A private server the fault tests stop and restart, driven by its `scripts/` script
/// (`start`, `halt`, `resume`, `stop`) on its own port.
struct FaultServer {
    let script: String
    let environment: [String: String]

    /// The private noida-db Kafka broker (scripts/kafka-fault-broker.sh).
    static func kafka(port: Int) -> FaultServer { FaultServer(script: "kafka-fault-broker.sh", environment: ["KAFKA_FAULT_PORT": String(port)]) }
    /// The private Redis (scripts/fault-redis.sh).
    static func redis(port: Int) -> FaultServer { FaultServer(script: "fault-redis.sh", environment: ["REDIS_FAULT_PORT": String(port)]) }
    /// The private PostgreSQL (scripts/fault-postgres.sh).
    static func postgres(port: Int) -> FaultServer { FaultServer(script: "fault-postgres.sh", environment: ["PG_FAULT_PORT": String(port)]) }

    @discardableResult
    func run(_ command: String) async throws -> String {
        faultLog("\(script) \(command)")
        return try await faultScript(script, command, environment: environment)
    }

    /// Starts the server fresh, runs `body`, and stops it (deleting its data) also when `body` throws.
    func with<T>(_ body: () async throws -> T) async throws -> T {
        try await run("start")
        let result: T
        do { result = try await body() } catch {
            _ = try? await run("stop")
            throw error
        }
        try await run("stop")
        return result
    }
}

/// A progress line with a timestamp (the fault tests' phases).
func faultLog(_ text: String) {
    print("[fault \(ContinuousClock.now)] \(text)")
}

/// Pairs of users on different instances sending to each other until stopped; every send is
/// recorded, and acknowledgements are read from the senders' notifications.
final class FaultLoad: Sendable {
    let pairs: [(ClusterUser, ClusterUser)]
    let entryPorts: [Int]
    private let sent = Mutex<[Int64: (from: ClusterUser, to: ClusterUser)]>([:])
    private let running = Atomic<Bool>(true)
    private let failures = Atomic<Int>(0)
    private let marks = Mutex<[(label: String, unixMilliseconds: Int64)]>([])

    init(pairs: [(ClusterUser, ClusterUser)], entryPorts: [Int]) {
        self.pairs = pairs
        self.entryPorts = entryPorts
    }

    var users: [ClusterUser] { pairs.flatMap { [$0.0, $0.1] } }
    var sentCount: Int { sent.withLock { $0.count } }
    var sendFailures: Int { failures.load(ordering: .relaxed) }
    var messages: [Int64: (from: ClusterUser, to: ClusterUser)] { sent.withLock { $0 } }

    /// One sender per direction of each pair, a message every `interval`, reconnecting on failure; at most `limit` sends each.
    func run(interval: Duration, limit: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for (x, y) in pairs {
                for (from, to) in [(x, y), (y, x)] {
                    group.addTask { [self] in
                        var i = 0
                        while running.load(ordering: .relaxed) && i < limit {
                            i += 1
                            do {
                                guard let realtime = from.realtime else { throw ChatClientError.connectionClosed }
                                let id = try await realtime.sendPlainText(to: to.id, text: "load \(i)")
                                sent.withLock { $0[id] = (from, to) }
                            } catch {
                                failures.add(1, ordering: .relaxed)
                                // The instance went away or told us to move: a new session names the owner.
                                _ = try? await from.connect(entryPorts: entryPorts, attempts: 40)
                            }
                            try? await Task.sleep(for: interval)
                        }
                    }
                }
            }
        }
    }

    func stop() { running.store(false, ordering: .relaxed) }

    /// Notes the wall-clock time of a fault's phase (for the diagnosis of missing messages).
    func mark(_ label: String) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        marks.withLock { $0.append((label, Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000)) }
        faultLog(label)
    }

    /// Where a message falls among the marks: "<ms> ms after <mark>, partition <p>, generator <g>".
    func describe(_ id: Int64) -> String {
        let at = Snowflake.unixMilliseconds(of: id)
        let last = marks.withLock { $0.last { $0.unixMilliseconds <= at } }
        let partition = messages[id].map { UserPartitioner.partition(of: $0.to.id, partitionCount: 12) } ?? -1
        return "\(last.map { "\(at - $0.unixMilliseconds) ms after \($0.label)" } ?? "before the marks"), partition \(partition), generator \(Snowflake.generator(of: id))"
    }

    /// Acknowledgement status per sent message (absent: none received yet).
    func acknowledgements() -> [Int64: Chatwire_DeliveryStatus] {
        let ids = Set(sent.withLock { $0.keys })
        var out: [Int64: Chatwire_DeliveryStatus] = [:]
        for user in users {
            for n in user.notifications where n.type == .deliveryStatus && ids.contains(n.messageID) { out[n.messageID] = n.status }
        }
        return out
    }

    /// Waits until `count` more messages than now (sent by `senders`, or by anyone) were acknowledged Processed.
    func waitForProcessed(_ count: Int, from senders: [ClusterUser]? = nil, within seconds: Double, _ what: String) async throws {
        let before = Set(acknowledgements().filter { $0.value == .processed }.keys)
        let ids = senders.map { Set($0.map(\.id)) }
        try await within(seconds, what) {
            let messages = self.messages
            return acknowledgements().filter { id, status in
                status == .processed && !before.contains(id) && (ids.map { senders in messages[id].map { senders.contains($0.from.id) } ?? false } ?? true)
            }.count >= count
        }
    }

    /// After the load stopped: waits until acknowledgements settle, and checks the issue's
    /// promise: every message acknowledged as Processed is in history (the shared SQLite history
    /// of `dataDirectory`), so its receiver saw it live or finds it there. Prints the counts.
    func verifyNoProcessedMessageLost(dataDirectory dir: String, label: String) async throws {
        // Every send gets its acknowledgement unless its sender's instance went away first.
        try await within(60, "acknowledgements settle") {
            let acks = acknowledgements()
            try await Task.sleep(for: .milliseconds(500))
            return acknowledgements().count == acks.count
        }
        faultLog("acks settled")
        let acks = acknowledgements()
        let processed = Set(acks.filter { $0.value == .processed }.keys)
        let lost = acks.filter { $0.value == .lost }.count
        #expect(processed.count > 50)

        let messages = self.messages
        var missing: Set<Int64> = []
        do {
            try await within(60, "history holds every processed message") {
                var stored: Set<Int64> = []
                for (x, y) in pairs { stored.formUnion(try await storedHistory(dir: dir, x.id, y.id)) }
                missing = processed.subtracting(stored)
                return missing.isEmpty
            }
        } catch {
            // Which receivers' partitions the missing messages were on (diagnosis of a failure).
            var byPartition: [Int: Int] = [:]
            for id in missing { if let route = messages[id] { byPartition[UserPartitioner.partition(of: route.to.id, partitionCount: 12), default: 0] += 1 } }
            Issue.record("\(label): \(missing.count) of \(processed.count) messages acknowledged Processed are not in history; missing per receiver partition: \(byPartition.sorted { $0.key < $1.key }); first ones: \(missing.sorted().prefix(8).map(describe))")
        }
        let deliveredLive = messages.filter { id, route in
            processed.contains(id) && route.to.notifications.contains { $0.type == .plainText && $0.messageID == id }
        }.count
        print("\(label): sent \(sentCount), processed \(processed.count), lost \(lost), unacknowledged \(sentCount - acks.count), delivered live \(deliveredLive), missing from history \(missing.count), send failures \(sendFailures), reconnects \(users.map(\.connects).reduce(0, +) - users.count)")
    }
}

/// HTTP statuses of periodic requests, grouped by the phase the test was in when each answered.
final class StatusProbe: Sendable {
    private let statuses = Mutex<(phase: String, seen: [String: [String: [Int]]])>(("up", [:]))
    private let running = Atomic<Bool>(true)

    /// Starts a new phase (`up`, `down`, `recovered`, ...).
    func enter(_ phase: String) {
        statuses.withLock { $0.phase = phase }
        faultLog("phase \(phase)")
    }

    /// The statuses `request` answered with during `phase`.
    func seen(_ request: String, in phase: String) -> [Int] { statuses.withLock { $0.seen[phase]?[request] ?? [] } }

    /// Sends each of `requests` (name → call returning an HTTP status) every `interval`, each in
    /// its own loop (a slow answer delays only its own request), until ``stop()``. The phase of an
    /// answer is the phase in which its request was sent.
    func run(interval: Duration, _ requests: [String: @Sendable () async -> Int]) async {
        await withTaskGroup(of: Void.self) { group in
            for (name, request) in requests {
                group.addTask { [self] in
                    while running.load(ordering: .relaxed) {
                        let phase = statuses.withLock { $0.phase }
                        let status = await request()
                        statuses.withLock { s in s.seen[phase, default: [:]][name, default: []].append(status) }
                        try? await Task.sleep(for: interval)
                    }
                }
            }
        }
    }

    func stop() { running.store(false, ordering: .relaxed) }

    /// A summary per phase and request: status → count.
    var summary: String {
        statuses.withLock { s in
            s.seen.sorted { $0.key < $1.key }.map { phase, requests in
                "\(phase): " + requests.sorted { $0.key < $1.key }.map { name, codes in
                    "\(name) " + Dictionary(grouping: codes, by: { $0 }).sorted { $0.key < $1.key }.map { "\($0.key)x\($0.value.count)" }.joined(separator: ",")
                }.joined(separator: "; ")
            }.joined(separator: " | ")
        }
    }
}

/// The status of an authenticated `GET path` as `user`, or of a login when `path` is nil
/// (-1: no answer). A fresh client each time: no connection state carries over a fault.
func probeStatus(_ user: ClusterUser, port: Int, path: String?) async -> Int {
    let client = ChatClient(host: "127.0.0.1", port: port)
    defer { Task { await client.close() } }
    do {
        let session = try await client.logIn(userName: user.name, password: "password-123")
        guard let path else { return 200 }
        client.adopt(session: session)
        return try await client.send(.GET, path, headers: HTTPHeaders(), body: nil).status
    } catch let ChatClientError.http(status, _) {
        return status
    } catch {
        return -1
    }
}
