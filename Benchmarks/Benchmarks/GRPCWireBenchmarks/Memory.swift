// Server memory per idle open server-streaming call (the chat server's "listen" shape): a GRPCWire
// server in this process, a GRPCWire client in a child process (so the client's memory is not
// counted). The child opens `warm` calls, waits for a line on stdin, then opens `calls` more; the
// server's resident set size after the warm calls and after all calls gives bytes per call.
// The handler sends its response headers and then waits (Task.sleep) until the call is cancelled,
// like a listener with nothing to deliver. Run: `swift run -c release GRPCWireBenchmarks memory [calls]`.
import Foundation
import GRPCWire
import Logging
import Synchronization

enum MemoryEcho {
    static let listen = GRPCWire.MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
        service: "peers.echo.Echo", method: "Listen", kind: .serverStreaming)
}

/// The number of calls whose handler is running.
final class OpenCalls: Sendable {
    private let value = Mutex(0)
    func add(_ delta: Int) { value.withLock { $0 += delta } }
    var count: Int { value.withLock { $0 } }
}

struct ListenService: GRPCService {
    let open: OpenCalls

    func register(with router: inout ServiceRouter) {
        router.serverStreaming(MemoryEcho.listen) { [open] _, writer, _ in
            open.add(1)
            defer { open.add(-1) }
            try await writer.writeInitialMetadata()
            try await Task.sleep(for: .seconds(86_400))
        }
    }
}

/// This process's resident set size in bytes (`/proc/self/statm`).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

let memoryWarmCalls = 100

func waitUntil(_ condition: () -> Bool, seconds: Double) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while !condition() {
        if ContinuousClock.now > deadline { return false }
        try await Task.sleep(for: .milliseconds(20))
    }
    return true
}

func runMemory(calls: Int, connectionPerCall: Bool, logger: Logger) async throws {
    let open = OpenCalls()
    var configuration = GRPCWire.GRPCServer.Configuration(host: "127.0.0.1", port: 0)
    configuration.maxConcurrentStreams = 100_000
    let server = GRPCWire.GRPCServer(
        configuration: configuration, services: [ListenService(open: open)], logger: logger)
    let serving = Task { try await server.run() }
    let port = try await server.listeningPort()

    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = ["memory-client", "\(port)", "\(calls)", connectionPerCall ? "connections" : "calls"]
    let stdin = Pipe()
    child.standardInput = stdin
    try child.run()

    guard try await waitUntil({ open.count >= memoryWarmCalls }, seconds: 60) else {
        child.terminate()
        fatalError("the warm-up calls did not open")
    }
    try await Task.sleep(for: .seconds(1))
    let before = residentBytes()
    stdin.fileHandleForWriting.write("go\n".data(using: .utf8)!)
    guard try await waitUntil({ open.count >= memoryWarmCalls + calls }, seconds: 120) else {
        child.terminate()
        fatalError("only \(open.count) of \(memoryWarmCalls + calls) calls opened")
    }
    try await Task.sleep(for: .seconds(1))
    let after = residentBytes()
    print(String(
        format: "server: %d idle server-streaming calls (%@): RSS %.1f MiB -> %.1f MiB, %.0f bytes (%.1f KiB) per call",
        calls, connectionPerCall ? "one connection each" : "one connection", Double(before) / 1_048_576, Double(after) / 1_048_576,
        Double(after - before) / Double(calls), Double(after - before) / Double(calls) / 1024))
    stdin.fileHandleForWriting.write("done\n".data(using: .utf8)!)
    child.waitUntilExit()
    server.beginGracefulShutdown()
    _ = await serving.result
}

func runMemoryClient(port: Int, calls: Int, connectionPerCall: Bool, logger: Logger) async throws {
    let shared = GRPCWire.GRPCClient(configuration: .init(host: "127.0.0.1", port: port), logger: logger)
    let ready = OpenCalls()
    try await withThrowingTaskGroup(of: Void.self) { group in
        @Sendable func open() async throws {
            let client = connectionPerCall
                ? GRPCWire.GRPCClient(configuration: .init(host: "127.0.0.1", port: port), logger: logger) : shared
            defer { if connectionPerCall { Task { await client.close() } } }
            _ = try await client.serverStreaming(MemoryEcho.listen, Peers_Echo_Msg()) { responses in
                _ = try await responses.initialMetadata
                ready.add(1)
                for try await _ in responses {}
            }
        }
        for _ in 0..<memoryWarmCalls { group.addTask { try? await open() } }
        _ = try await waitUntil({ ready.count >= memoryWarmCalls }, seconds: 60)
        _ = await readLineOffPool()
        let before = residentBytes()
        for _ in 0..<calls { group.addTask { try? await open() } }
        _ = try await waitUntil({ ready.count >= memoryWarmCalls + calls }, seconds: 120)
        try await Task.sleep(for: .seconds(1))
        let after = residentBytes()
        print(String(
            format: "client: %d open server-streaming calls: %.0f bytes (%.1f KiB) per call",
            calls, Double(after - before) / Double(calls), Double(after - before) / Double(calls) / 1024))
        fflush(nil)
        _ = await readLineOffPool()
        group.cancelAll()
    }
    await shared.close()
}

/// Reads a line from stdin on its own thread, so the cooperative pool is never blocked.
func readLineOffPool() async -> String? {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: readLine()) }.start()
    }
}
