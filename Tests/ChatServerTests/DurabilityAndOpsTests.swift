import ChatServer
import ChatWire
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@Suite(.serialized) struct DurabilityAndOpsTests {
    /// A restart keeps every acknowledged (Processed) message and all state.
    @Test func restartKeepsAcknowledgedMessages() async throws {
        let dir = TestServer.temporaryDirectory()
        let acknowledged = try await Acknowledged.collect(dir: dir)
        #expect(acknowledged.ids.count == 200)
        try await TestServer.run(dataDirectory: dir) { port in
            let client = ChatClient(host: "127.0.0.1", port: port)
            let session = try await client.logIn(userName: "alice", password: "password-123")
            #expect(session.profile.userId == acknowledged.alice)
            var seen = Set<Int64>()
            var olderThan = ChatTimestamp.now()
            while true {
                let page = try await client.history(with: acknowledged.bob, olderThan: olderThan)
                guard let last = page.last else { break }
                seen.formUnion(page.map(\.messageId))
                olderThan = ChatTimestamp(microseconds: Snowflake.unixMilliseconds(of: last.messageId) * 1000 + 1)
                if page.count < 32 { break }
                olderThan = ChatTimestamp(microseconds: Snowflake.unixMilliseconds(of: last.messageId) * 1000)
            }
            // Every acknowledged message is in history (paging by millisecond may skip same-ms
            // neighbours, so check the chat state too).
            let all = Set(acknowledged.ids)
            #expect(try await client.userChats().first?.newestMessage == acknowledged.ids.max())
            #expect(seen.isSubset(of: all))
            #expect(try await client.connections().first?.status == .connected)
        }
    }

    struct Acknowledged: Sendable {
        var alice: Int64
        var bob: Int64
        var ids: [Int64]

        static func collect(dir: String) async throws -> Acknowledged {
            let result = Mutex2<Acknowledged?>(nil)
            try await TestServer.run(dataDirectory: dir) { port in
                let a = try await TestUser.make("alice", port: port)
                let b = try await TestUser.make("bobby", port: port)
                let v = try await a.client.invite(b.id)
                _ = try await b.client.approve(a.id, version: v)
                let aRT = try await a.client.connectRealtime()
                let inbox = Inbox(aRT)
                var ids: [Int64] = []
                for i in 0..<200 { ids.append(try await aRT.sendPlainText(to: b.id, text: "durable \(i)")) }
                for id in ids { _ = try await inbox.take { $0.type == .deliveryStatus && $0.status == .processed && $0.messageID == id } }
                result.set(Acknowledged(alice: a.id, bob: b.id, ids: ids))
                // Shut down right after the acks: the history writer may not have caught up yet.
            }
            return result.get()!
        }
    }

    /// Every acknowledged message reaches history after a restart, checked exhaustively through the store.
    @Test func restartReplaysTheBackplaneIntoHistory() async throws {
        let dir = TestServer.temporaryDirectory()
        let acknowledged = try await Acknowledged.collect(dir: dir)
        try await TestServer.run(dataDirectory: dir) { _ in }
        let history = try await TestServer.withChatStore(dataDirectory: dir) { store in
            try await store.history(chatID: ChatID(acknowledged.alice, acknowledged.bob).description, olderThan: .max, limit: 1000)
        }
        #expect(Set(history.map(\.messageId)) == Set(acknowledged.ids))
    }

    /// Flow 15: the admin config API changes the history page size at run time.
    @Test func dynamicConfig() async throws {
        try await TestServer.run { port in
            let admin = ChatClient(host: "127.0.0.1", port: port)
            let headers = HTTPHeaders([("Authorization", "Bearer \(TestServer.adminToken)"), ("Content-Type", "application/json")])
            #expect(try await admin.send(.GET, "/api/config", headers: HTTPHeaders(), body: nil, authorized: false).status == 401)
            let listed = try await admin.send(.GET, "/api/config", headers: headers, body: nil, authorized: false)
            let config = try JSONDecoder().decode(ConfigResponse.self, from: Data(listed.body.readableBytesView))
            let pageSize = try #require(config.elements.first { $0.name == "history.message-count" })
            #expect(pageSize.value == "32")

            func put(_ request: ConfigUpdateRequest) async throws -> Int {
                let body = ByteBuffer(bytes: try JSONEncoder().encode(request))
                return try await admin.send(.PUT, "/api/config", headers: headers, body: body, authorized: false).status
            }
            var invalid = pageSize
            invalid.value = "5000"
            #expect(try await put(ConfigUpdateRequest(existingElements: [invalid])) == 400)
            var changed = pageSize
            changed.value = "16"
            #expect(try await put(ConfigUpdateRequest(existingElements: [changed])) == 200)
            #expect(try await put(ConfigUpdateRequest(existingElements: [changed])) == 409) // stale version
            #expect(try await put(ConfigUpdateRequest(newElements: [ConfigElement(name: "history.message-count", value: "20", version: .now())])) == 409)
            #expect(try await put(ConfigUpdateRequest()) == 400)

            let a = try await TestUser.make("alice", port: port)
            let b = try await TestUser.make("bobby", port: port)
            let aRT = try await a.client.connectRealtime()
            for i in 0..<20 { _ = try await aRT.sendPlainText(to: b.id, text: "m\(i)") }
            try await eventually { try await a.client.userChats().first?.newestMessage != nil }
            try await eventually { try await a.client.history(with: b.id).count == 16 }
        }
    }

    @Test func operationalEndpoints() async throws {
        try await TestServer.run { port in
            let a = try await TestUser.make("alice", port: port)
            let anon = ChatClient(host: "127.0.0.1", port: port)
            for path in ["/healthz", "/readyz"] {
                #expect(try await anon.send(.GET, path, headers: HTTPHeaders(), body: nil, authorized: false).status == 200)
            }
            _ = try await a.client.connectRealtime()
            // The registry counts the client once its connection is registered, just after the
            // real-time handshake returns: poll the gauge.
            var text = ""
            try await eventually {
                let metrics = try await anon.send(.GET, "/metrics", headers: HTTPHeaders(), body: nil, authorized: false)
                text = String(buffer: metrics.body)
                return text.contains("chat_online_clients 1")
            }
            #expect(text.contains("http_request_duration_seconds_bucket{method=\"POST\",path=\"/api/session\""))
            let openapi = try await anon.send(.GET, "/openapi.json", headers: HTTPHeaders(), body: nil, authorized: false)
            let document = try JSONSerialization.jsonObject(with: Data(openapi.body.readableBytesView)) as? [String: Any]
            #expect(document?["openapi"] as? String == "3.0.3")
            let paths = document?["paths"] as? [String: Any] ?? [:]
            #expect(paths.count >= 19)
            let page = try await anon.send(.GET, "/", headers: HTTPHeaders(), body: nil, authorized: false)
            #expect(String(buffer: page.body).contains("<html"))
        }
    }
}

/// A tiny lock-protected box for test results.
final class Mutex2<Value: Sendable>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func set(_ v: Value) { lock.withLock { value = v } }
    func get() -> Value { lock.withLock { value } }
}
