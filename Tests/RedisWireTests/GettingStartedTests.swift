import Logging
import Testing
import RedisWire

// The code of RedisWire.docc/GettingStarted.md, verbatim.
func gettingStarted(url: String, logger: Logger) async throws -> [String] {
    let client = try RedisClient(url: url, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        defer { group.cancelAll() }

        // Typed commands
        try await client.set("gs:greeting", to: "hello", expiration: .seconds(60))
        let greeting = try await client.get("gs:greeting") ?? "?"
        try await client.hset("gs:user:1", fields: [("name", "Ann"), ("visits", 1)])
        let visits = try await client.hincrby("gs:user:1", field: "visits", by: 1)

        // Concurrent commands are pipelined automatically; an explicit pipeline returns each result.
        let results = try await client.pipeline([
            RedisCommand("INCR", "gs:counter"),
            RedisCommand("GET", "gs:counter"),
        ])
        let counter = try results[1].get().string ?? "?"

        // Pub/sub: the subscription is live when the closure starts.
        let message = try await client.subscribe(to: ["gs:news"]) { messages in
            try await client.publish("breaking", to: "gs:news")
            var iterator = messages.makeAsyncIterator()
            return try await iterator.next()?.string ?? "?"
        }

        try await client.delete("gs:greeting", "gs:user:1", "gs:counter")
        return [greeting, "\(visits)", counter, message]
    }
}

@Suite("Getting Started article")
struct GettingStartedTests {
    @Test func articleCodeRuns() async throws {
        guard let url = PeerEnvironment.redisURL else { return }
        // Use a database of its own so the fixed "gs:" keys never collide with other helpers.
        let result = try await gettingStarted(url: url + (url.contains("?") ? "&" : "?") + "db=9", logger: PeerEnvironment.logger)
        #expect(result == ["hello", "2", "1", "breaking"])
    }
}
