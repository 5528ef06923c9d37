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
            let process = Process()
            process.executableURL = URL(fileURLWithPath: chromium)
            process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(profile)",
                                 "--virtual-time-budget=15000", "--run-all-compositor-stages-before-draw", "--dump-dom",
                                 "http://127.0.0.1:\(port)/?selftest=1"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = await Task.detached { output.fileHandleForReading.readDataToEndOfFile() }.value
            process.waitUntilExit()
            let dom = String(decoding: data, as: UTF8.self)
            let verdict = dom.components(separatedBy: "<pre id=\"selftest\">").dropFirst().first?.components(separatedBy: "</pre>").first ?? "(no verdict in the DOM)"
            #expect(verdict.hasPrefix("SELFTEST PASS"), "\(verdict)")
            #expect(verdict.contains("befriended") && verdict.contains("chatted") && verdict.contains("seen"))
        }
    }
}
