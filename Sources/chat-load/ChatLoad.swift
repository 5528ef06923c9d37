import ArgumentParser
import ChatWire
import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `chat-load`: the load tester. N users with friends; sessions that open the all-chats screen,
/// open one chat (history page) and send messages; delivered receipts; a progress line; a final
/// report of connect time, sent/acknowledged/delivered/lost, end-to-end latency percentiles and errors.
@main
struct ChatLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chat-load", abstract: "Load tester for the Wirestack chat server.")

    @Option(help: "Server host.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 8080
    @Option(help: "Real-time transport: websocket or grpc.") var transport = "websocket"
    @Option(help: "The server's gRPC port (with --transport grpc).") var grpcPort = 8081
    @Option(help: "PID of a chat-server on this machine: report its resident memory before and after connecting.") var serverPid: Int32?
    @Option(help: "Number of users (clients).") var users = 200
    @Option(help: "Friends per user.") var friends = 5
    @Option(help: "Sessions per user.") var sessions = 3
    @Option(help: "Messages per session.") var messages = 4
    @Option(help: "Milliseconds to wait between a client's messages (the reference waits 3000-5000).") var thinkTimeMs = 0
    @Option(help: "Messages a client keeps in flight at once.") var inflight = 1
    @Option(help: "Send at this total rate (messages/s, spread evenly over the clients' lanes) instead of as fast as acknowledgements allow; measures latency at a fixed load rather than queueing.") var rate: Int?
    @Option(help: "Parallelism of the set-up and connect phases.") var connectParallelism = 8
    @Option(help: "Seconds to wait for outstanding deliveries at the end.") var drainSeconds = 10
    @Flag(help: "Receivers acknowledge every message as delivered.") var acks = false
    @Option(help: "Only connect this many listening clients, hold them for --hold-seconds, and report (connection test).") var listenOnly: Int?
    @Option(help: "Seconds to hold listening clients in --listen-only mode.") var holdSeconds = 10
    @Option(help: "User-name prefix (unique per run unless reused).") var prefix = "load"
    @Option(help: "Password of load-test users.") var password = "load-test-password"

    func validate() throws {
        guard ["websocket", "grpc"].contains(transport) else { throw ValidationError("--transport must be websocket or grpc") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
    }

    var realtimeTransport: ChatRealtimeTransport { transport == "grpc" ? .grpc(port: grpcPort) : .webSocket }

    func run() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let runner = LoadRunner(options: self, group: group)
        try await runner.run()
        try await group.shutdownGracefully()
    }
}

/// Shared counters of a run.
final class LoadStats: Sendable {
    let sent = Atomic<Int>(0)
    let acked = Atomic<Int>(0)
    let lost = Atomic<Int>(0)
    let delivered = Atomic<Int>(0)
    let receipts = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let httpCalls = Atomic<Int>(0)
    /// Sends late against the --rate schedule by more than 1 ms (the load generator fell behind).
    let late = Atomic<Int>(0)
    private let latencies = Mutex<[Double]>([])
    private let firstError = Mutex<String?>(nil)
    /// The origin of the send times carried in message texts.
    let origin = ContinuousClock.now

    /// The text of a message sent now: `m` and the microseconds since ``origin`` (the receiver
    /// computes the end-to-end latency from it, so no per-message bookkeeping is shared).
    func text(at instant: ContinuousClock.Instant) -> String {
        "m" + String(Self.microseconds(instant - origin)) + " load-test message text"
    }

    /// The end-to-end latency in milliseconds of a message with `text` received at `instant`.
    func latency(of text: String, at instant: ContinuousClock.Instant) -> Double? {
        let digits = text.utf8.dropFirst().prefix { $0 != UInt8(ascii: " ") }
        guard text.utf8.first == UInt8(ascii: "m"), let sent = Int64(Substring(digits)) else { return nil }
        return Double(Self.microseconds(instant - origin) - sent) / 1000
    }

    static func microseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000
    }

    /// Adds one listener's latencies (milliseconds).
    func record(_ values: [Double]) {
        latencies.withLock { $0.append(contentsOf: values) }
    }

    func error(_ text: String) {
        errors.add(1, ordering: .relaxed)
        firstError.withLock { if $0 == nil { $0 = text } }
    }

    var first: String? { firstError.withLock { $0 } }
    var sortedLatencies: [Double] { latencies.withLock { $0 }.sorted() }
}

struct LoadUser: Sendable {
    var index: Int
    var name: String
    var id: Int64 = 0
    var friends: [Int64] = []
}

struct LoadRunner {
    let options: ChatLoad
    let group: any EventLoopGroup
    let stats = LoadStats()

    func log(_ line: String) { print(line) }

    func run() async throws {
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let count = options.listenOnly ?? options.users
        log("chat-load: \(count) users at \(options.host):\(options.port) over \(options.transport)\(options.transport == "grpc" ? " (gRPC port \(options.grpcPort))" : "") (run \(runID))")

        // Set-up: register and log in every user.
        let setupStart = ContinuousClock.now
        // A few set-up connections register and log everyone in; each user then gets its own
        // client (its HTTP connection opens lazily on first use).
        let setupClients = (0..<max(1, options.connectParallelism)).map { _ in
            ChatClient(host: options.host, port: options.port, eventLoopGroup: group, logger: Logger(label: "chat-load"))
        }
        let clients: [(LoadUser, ChatClient)] = try await parallelMap(0..<count, parallelism: options.connectParallelism) { i in
            let name = "\(options.prefix)\(runID)u\(i)"
            let setup = setupClients[i % setupClients.count]
            try await setup.register(RegistrationRequest(userName: name, password: options.password, displayName: "Load \(i)", phone: "0888\(String(100000 + i % 900000))", email: "\(name)@load.test"))
            let session: SessionResponse = try await setup.call(.POST, "/api/session", body: SessionRequest(userName: name, password: options.password), authorized: false)
            let client = ChatClient(host: options.host, port: options.port, eventLoopGroup: group, logger: Logger(label: "chat-load"))
            client.adopt(session: session)
            var user = LoadUser(index: i, name: name)
            user.id = session.profile.userId
            return (user, client)
        }
        for setup in setupClients { await setup.close() }
        log("registered and logged in \(clients.count) users in \(format(ContinuousClock.now - setupStart))")

        if options.listenOnly != nil {
            try await listenOnly(clients)
            return
        }

        // Friendships: user i invites i+1...i+friends (ring), the friend approves.
        var users = clients.map(\.0)
        let ids = users.map(\.id)
        let friendCount = min(options.friends, max(0, count - 1))
        for i in users.indices {
            users[i].friends = (1...max(1, friendCount)).prefix(friendCount).flatMap { k in [ids[(i + k) % count], ids[(i - k + count) % count]] }
            users[i].friends = Array(Set(users[i].friends).subtracting([ids[i]]))
        }
        let friendStart = ContinuousClock.now
        _ = try await parallelMap(0..<count, parallelism: options.connectParallelism) { i -> Int in
            for k in 1...max(1, friendCount) where friendCount > 0 {
                let j = (i + k) % count
                guard j != i else { continue }
                let version = try await clients[i].1.invite(ids[j])
                _ = try await clients[j].1.approve(ids[i], version: version)
            }
            return 0
        }
        log("befriended in \(format(ContinuousClock.now - friendStart))")

        // Connect every client's real-time stream.
        let connectStart = ContinuousClock.now
        let transport = options.realtimeTransport
        let realtimes: [any ChatRealtime] = try await parallelMap(0..<count, parallelism: options.connectParallelism) { i in
            try await clients[i].1.connectRealtime(over: transport)
        }
        let connectTime = ContinuousClock.now - connectStart
        log("connected \(realtimes.count) real-time clients in \(format(connectTime))")

        // Listeners: latency, delivered receipts, acks. Each keeps its latencies until the end.
        var listeners: [Task<Void, Never>] = []
        for (i, realtime) in realtimes.enumerated() {
            let me = ids[i]
            listeners.append(Task { [stats, acks = options.acks] in
                var latencies: [Double] = []
                defer { stats.record(latencies) }
                for await n in realtime.notifications {
                    switch n.type {
                    case .plainText where n.receiverID == me:
                        if let ms = stats.latency(of: n.plainText.text, at: .now) { latencies.append(ms) }
                        stats.delivered.add(1, ordering: .relaxed)
                        if acks {
                            do { try await realtime.acknowledge(messageID: n.messageID, senderID: n.senderID, status: .delivered) } catch { stats.error("ack: \(error)") }
                        }
                    case .deliveryStatus:
                        switch n.status {
                        case .processed: stats.acked.add(1, ordering: .relaxed)
                        case .lost: stats.lost.add(1, ordering: .relaxed)
                        case .delivered, .seen: stats.receipts.add(1, ordering: .relaxed)
                        default: break
                        }
                    default: break
                    }
                }
            })
        }

        // Run phase.
        let total = count * options.sessions * options.messages
        let loadAtStart = loadAverage()
        let ownCPUAtStart = cpuSeconds(getpid())
        let serverCPUAtStart = options.serverPid.flatMap(cpuSeconds)
        let runStart = ContinuousClock.now
        let progress = Task { [stats] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let elapsed = ContinuousClock.now - runStart
                let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let d = stats.delivered.load(ordering: .relaxed)
                print("  [\(String(format1(secs)))s] sent \(stats.sent.load(ordering: .relaxed))/\(total) acked \(stats.acked.load(ordering: .relaxed)) delivered \(d) lost \(stats.lost.load(ordering: .relaxed)) errors \(stats.errors.load(ordering: .relaxed)) (\(Int(Double(d) / max(secs, 0.001))) msg/s)")
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                let user = users[i]
                let client = clients[i].1
                let realtime = realtimes[i]
                group.addTask { await session(user: user, client: client, realtime: realtime) }
            }
        }
        let sendDone = ContinuousClock.now
        // Drain: wait until everything sent is delivered, or the drain time passes.
        let deadline = ContinuousClock.now + .seconds(options.drainSeconds)
        while ContinuousClock.now < deadline, stats.delivered.load(ordering: .relaxed) < stats.sent.load(ordering: .relaxed) {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let runEnd = ContinuousClock.now
        let ownCPU = cpuSeconds(getpid()).flatMap { end in ownCPUAtStart.map { end - $0 } }
        let serverCPU = options.serverPid.flatMap(cpuSeconds).flatMap { end in serverCPUAtStart.map { end - $0 } }
        let loadAtEnd = loadAverage()
        progress.cancel()
        for realtime in realtimes { await realtime.close() }
        // Closed connections finish their notification streams; the listeners hand over their latencies.
        for listener in listeners { await listener.value }
        for (_, client) in clients { await client.close() }

        let elapsed = runEnd - runStart
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let lat = stats.sortedLatencies
        func pct(_ p: Double) -> String { lat.isEmpty ? "-" : format1(lat[min(lat.count - 1, Int(Double(lat.count) * p))]) + " ms" }
        let delivered = stats.delivered.load(ordering: .relaxed)
        log("")
        log("== chat-load report ==")
        log("clients: \(count), friends each: \(friendCount * 2), sessions: \(options.sessions), messages/session: \(options.messages), inflight: \(options.inflight), think time: \(options.thinkTimeMs) ms, rate: \(options.rate.map { "\($0) msg/s (\(stats.late.load(ordering: .relaxed)) sends more than 1 ms late)" } ?? "as fast as acknowledged")")
        log("connect time: \(format(connectTime)) (\(realtimes.count) real-time clients)")
        log("messages: total \(total), sent \(stats.sent.load(ordering: .relaxed)), acknowledged (processed) \(stats.acked.load(ordering: .relaxed)), delivered \(delivered), lost \(stats.lost.load(ordering: .relaxed)), receipts \(stats.receipts.load(ordering: .relaxed))")
        log("send phase: \(format(sendDone - runStart)), until drained: \(format1(secs)) s, delivered throughput: \(Int(Double(delivered) / max(secs, 0.001))) msg/s")
        log("end-to-end latency: p50 \(pct(0.50)), p95 \(pct(0.95)), p99 \(pct(0.99)), max \(lat.last.map { format1($0) + " ms" } ?? "-") (\(lat.count) samples)")
        log("http calls: \(stats.httpCalls.load(ordering: .relaxed)), errors: \(stats.errors.load(ordering: .relaxed))\(stats.first.map { " (first: \($0))" } ?? "")")
        func cores(_ seconds: Double?) -> String {
            guard let seconds else { return "-" }
            return "\(format1(seconds)) s (\(String(format1(seconds / max(secs, 0.001)))) cores, \(Int((seconds / Double(max(delivered, 1)) * 1e6).rounded())) µs per delivered message)"
        }
        log("cpu during the run: chat-load \(cores(ownCPU)), server \(options.serverPid == nil ? "- (pass --server-pid)" : cores(serverCPU))")
        log("machine load average (1/5/15 min): \(loadAtStart) at start, \(loadAtEnd) at end")
    }

    func session(user: LoadUser, client: ChatClient, realtime: any ChatRealtime) async {
        for _ in 0..<options.sessions {
            do {
                _ = try await client.allChatsScreen(includeProfiles: true)
                if let friend = user.friends.randomElement() {
                    _ = try await client.oneChatScreen(with: friend)
                }
                stats.httpCalls.add(2, ordering: .relaxed)
            } catch {
                stats.error("screens: \(error)")
            }
            guard !user.friends.isEmpty else { continue }
            let lanes = max(1, options.inflight)
            // With --rate every lane sends every `interval`, lanes spread evenly over it.
            let interval = options.rate.map { Duration.seconds(Double(options.users * lanes) / Double($0)) }
            let sessionStart = ContinuousClock.now
            await withTaskGroup(of: Void.self) { group in
                let perLane = options.messages / lanes
                let extra = options.messages % lanes
                for lane in 0..<lanes {
                    let n = perLane + (lane < extra ? 1 : 0)
                    group.addTask { [stats, friends = user.friends, think = options.thinkTimeMs, users = options.users] in
                        let offset = interval.map { $0 * (Double(user.index * lanes + lane) / Double(users * lanes)) }
                        for k in 0..<n {
                            if think > 0 { try? await Task.sleep(for: .milliseconds(think)) }
                            if let interval, let offset {
                                let due = sessionStart + offset + interval * k
                                if due > .now {
                                    try? await Task.sleep(until: due, tolerance: .microseconds(200), clock: .continuous)
                                } else if ContinuousClock.now - due > .milliseconds(1) {
                                    stats.late.add(1, ordering: .relaxed)
                                }
                            }
                            let friend = friends[(lane + k) % friends.count]
                            do {
                                _ = try await realtime.sendPlainText(to: friend, text: stats.text(at: .now))
                                stats.sent.add(1, ordering: .relaxed)
                            } catch {
                                stats.error("send: \(error)")
                            }
                        }
                    }
                }
            }
        }
    }

    func listenOnly(_ clients: [(LoadUser, ChatClient)]) async throws {
        // The set-up HTTP connections are idle now; close them so the server's memory counts only
        // the listening connections.
        for (_, client) in clients { await client.close() }
        try await Task.sleep(for: .seconds(2))
        let before = options.serverPid.flatMap(residentKB)
        let connectStart = ContinuousClock.now
        let transport = options.realtimeTransport
        let realtimes: [any ChatRealtime] = try await parallelMap(clients.indices, parallelism: options.connectParallelism) { i in
            try await clients[i].1.connectRealtime(over: transport)
        }
        log("connected \(realtimes.count) listening clients in \(format(ContinuousClock.now - connectStart))")
        log("holding for \(options.holdSeconds) s (measure the server's memory now: e.g. ps -o rss= -p <pid>)")
        try await Task.sleep(for: .seconds(options.holdSeconds))
        if let pid = options.serverPid, let before, let after = residentKB(pid) {
            let perClient = Double(after - before) * 1024 / Double(max(1, realtimes.count))
            log("server RSS: \(before / 1024) MiB before, \(after / 1024) MiB with \(realtimes.count) listening clients: \(Int(perClient)) bytes (\(format1(perClient / 1024)) KiB) per client (load average \(loadAverage()))")
        }
        for realtime in realtimes { await realtime.close() }
        for (_, client) in clients { await client.close() }
        log("closed")
    }
}

/// CPU time (user + system) process `pid` used so far, in seconds (Linux `/proc/<pid>/stat`); nil if unreadable.
func cpuSeconds(_ pid: Int32) -> Double? {
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 2048)
    guard fgets(&line, Int32(line.count), file) != nil else { return nil }
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // Fields after the command name (which is in parentheses and may hold spaces): state is field 3; utime 14, stime 15.
    guard let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    return (user + system) / max(ticks, 1)
}

/// The 1-minute load average (`/proc/loadavg`).
func loadAverage() -> String {
    guard let file = fopen("/proc/loadavg", "r") else { return "?" }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 128)
    guard fgets(&line, Int32(line.count), file) != nil else { return "?" }
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// The resident set size of process `pid` in KiB (Linux `/proc/<pid>/status` VmRSS).
func residentKB(_ pid: Int32) -> Int? {
    guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("VmRSS:") {
            return text.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
        }
    }
    return nil
}

/// Runs `body` over `range` with at most `parallelism` at once, results in order; throws the first error.
func parallelMap<C: Collection & Sendable, T: Sendable>(_ items: C, parallelism: Int, _ body: @escaping @Sendable (C.Element) async throws -> T) async throws -> [T] where C.Element: Sendable {
    let array = Array(items)
    var results = [T?](repeating: nil, count: array.count)
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var next = 0
        for _ in 0..<min(parallelism, array.count) {
            let i = next
            group.addTask { (i, try await body(array[i])) }
            next += 1
        }
        while let (i, value) = try await group.next() {
            results[i] = value
            if next < array.count {
                let j = next
                group.addTask { (j, try await body(array[j])) }
                next += 1
            }
        }
    }
    return results.map { $0! }
}

func format(_ d: Duration) -> String {
    let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    return format1(s) + " s"
}

func format1(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return String(r)
}
