import Foundation

/// Deterministic benchmark inputs.
enum BenchmarkData {
    /// `count` pseudo-random bytes (SplitMix64), 8-byte aligned.
    static func random(count: Int) -> [UInt8] {
        var state: UInt64 = 0x5EED
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for index in words.indices {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                words[index] = z ^ (z >> 31)
            }
        }
        return bytes
    }

    /// About 1 MiB of chat-message JSON lines: the realistic payload for the codecs (a Kafka
    /// record batch or a CQL result of chat history compresses like this).
    static let chatText: [UInt8] = {
        var state: UInt64 = 7
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let words = ["hello", "are", "you", "there", "message", "chat", "ok", "lunch", "tomorrow", "see", "you", "soon",
                     "meeting", "at", "the", "office", "thanks", "great", "idea", "will", "call", "later", "😀", "👍"]
        var result = ""
        var messageId = 7_000_000_000
        while result.utf8.count < 1 << 20 {
            messageId += Int(next() % 1000)
            let text = (0..<(3 + Int(next() % 15))).map { _ in words[Int(next() % UInt64(words.count))] }.joined(separator: " ")
            result += #"{"messageId":\#(messageId),"senderId":\#(next() % 100_000),"receiverId":\#(next() % 100_000),"#
            result += #""chatId":"\#(next() % 100_000)-\#(next() % 100_000)","type":"plainText","text":"\#(text)","status":"delivered"}"#
            result += "\n"
        }
        return Array(result.utf8)
    }()

    /// Writes ``chatText`` where the Python anchor (Benchmarks/Anchors/python_codecs.py) reads it,
    /// so both measure the same bytes: `$WIRESTACK_BENCH_PAYLOAD` or the temporary directory.
    static func exportPayload() {
        let path = ProcessInfo.processInfo.environment["WIRESTACK_BENCH_PAYLOAD"]
            ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("wirestack-bench-chat.bin")
        try? Data(chatText).write(to: URL(fileURLWithPath: path))
    }
}
