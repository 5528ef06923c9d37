import ChatServer
import Foundation
import Testing

/// The web page driven by headless Chromium (Debian's `chromium` package): the page's self-test
/// mode registers two users, logs in, searches, befriends and chats over the WebSocket, and writes
/// its verdict into the DOM, read back with `--dump-dom`.
@Suite struct WebPageBrowserTests {
    static func chromium() -> String? {
        if let path = ProcessInfo.processInfo.environment["WIRESTACK_CHROMIUM"] { return path }
        return ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func selfTestPassesInHeadlessChromium() async throws {
        guard let chromium = Self.chromium() else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("chromium is required in CI (apt-get install -y chromium)")
            } else {
                print("skipping the browser test: chromium is not installed (apt-get install -y chromium)")
            }
            return
        }
        try await TestServer.run { port in
            let profile = TestServer.temporaryDirectory()
            // The page logs its verdict to the console; Chromium echoes console lines on stderr.
            let process = Process()
            process.executableURL = URL(fileURLWithPath: chromium)
            process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(profile)",
                                 "--enable-logging=stderr", "--v=0", "http://127.0.0.1:\(port)/?selftest=1"]
            let errors = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            try process.run()
            // Blocking reads and waits run on their own threads, never on Swift's cooperative pool:
            // a pool thread blocked for the whole browser run (two threads on a 2-core machine)
            // stalled every other suite's servers and clients running beside this test.
            let watchdog = Task {
                try? await Task.sleep(for: .seconds(60))
                if process.isRunning { process.terminate() }
            }
            let line: String = await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    var collected = ""
                    while true {
                        let chunk = errors.fileHandleForReading.availableData
                        if chunk.isEmpty { break }
                        collected += String(decoding: chunk, as: UTF8.self)
                        if let line = collected.split(separator: "\n").first(where: { $0.contains("SELFTEST PASS") || $0.contains("SELFTEST FAIL") }) {
                            continuation.resume(returning: String(line))
                            return
                        }
                    }
                    continuation.resume(returning: collected)
                }
            }
            watchdog.cancel()
            if process.isRunning { process.terminate() }
            await withCheckedContinuation { (exited: CheckedContinuation<Void, Never>) in
                Thread.detachNewThread {
                    process.waitUntilExit()
                    exited.resume()
                }
            }
            let verdict = line.components(separatedBy: "\"").dropFirst().first ?? "(no verdict: \(line.suffix(500)))"
            #expect(verdict.hasPrefix("SELFTEST PASS"), "\(verdict)")
            #expect(verdict.contains("befriended") && verdict.contains("chatted") && verdict.contains("seen"))
        }
    }
}
