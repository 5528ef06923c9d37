import ChatServer
import ChatWire
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@Suite(.serialized) struct BadInputTests {
    func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
    let jsonHeaders = HTTPHeaders([("Content-Type", "application/json")])

    /// Malformed JSON, wrong types, oversized bodies, quotes and control characters: a clear 4xx
    /// with a problem body, and nothing changes.
    @Test func malformedAndOversizedBodies() async throws {
        try await TestServer.run { port in
            let a = try await TestUser.make("alice", port: port)
            let anon = ChatClient(host: "127.0.0.1", port: port)
            for body in ["{", "[]", "null", "{\"userName\": 5}", "{\"userName\":\"x\"}", "\u{0}\u{1}"] {
                let response = try await anon.send(.POST, "/api/registration", headers: jsonHeaders, body: json(body), authorized: false)
                #expect(response.status == 400, "body \(body)")
                #expect(response.headers["content-type"].first == "application/problem+json")
                let problem = try JSONDecoder().decode(ProblemDetails.self, from: Data(response.body.readableBytesView))
                #expect(problem.status == 400)
            }
            let huge = "{\"userName\":\"" + String(repeating: "a", count: 100_000) + "\"}"
            #expect(try await anon.send(.POST, "/api/registration", headers: jsonHeaders, body: json(huge), authorized: false).status == 413)
            #expect(try await anon.send(.POST, "/api/registration", headers: HTTPHeaders([("Content-Type", "text/plain")]), body: json("{}"), authorized: false).status == 415)

            // Quotes and control characters in fields: rejected, and the profile is unchanged.
            let evil = RegistrationRequest(userName: "rob'); drop", password: "password-123", displayName: "\"\u{7}\u{1B}[31m", phone: "0888123456", email: "a\"@b.c")
            #expect(await status { try await anon.register(evil) } == 400)
            let v = a.session.profile.version
            #expect(await status { try await a.client.updateProfile(displayName: "bad\u{0}name", version: v) } == 400)
            #expect(await status { try await a.client.updateProfile(displayName: "\"\"\"", version: v) } == 400)
            #expect(try await a.client.profile(of: a.id).displayName == "User alice")
            #expect(try await a.client.searchProfiles("rob").isEmpty)
            // A display name with quotes that is otherwise valid is stored verbatim.
            _ = try await a.client.updateProfile(displayName: "Al \"the\" <b>", version: v)
            #expect(try await a.client.profile(of: a.id).displayName == "Al \"the\" <b>")
            // Wrong-typed version.
            let wrong = try await a.client.send(.PUT, "/api/profile", headers: jsonHeaders, body: json("{\"displayName\":\"Valid Name\",\"version\":\"yesterday\"}"))
            #expect(wrong.status == 400)
        }
    }

    /// Missing, expired and forged tokens are refused everywhere.
    @Test func tokens() async throws {
        try await TestServer.run(tokenLifetime: 1800) { port in
            let a = try await TestUser.make("alice", port: port)
            let anon = ChatClient(host: "127.0.0.1", port: port)
            for path in ["/api/connections", "/api/profiles/1", "/api/chats/user?newerThan=2021-01-01T00:00:00Z", "/api/files/list?newerThan=2021-01-01T00:00:00Z", "/api/screens/allChats?chatsNewerThan=2021-01-01T00:00:00Z&filesNewerThan=2021-01-01T00:00:00Z"] {
                #expect(try await anon.send(.GET, path, headers: HTTPHeaders(), body: nil, authorized: false).status == 401, "\(path)")
            }
            let identity = Identity(userID: a.id, userName: "alice", clientID: "device")
            let expired = try TokenService(secret: TestServer.secret, lifetimeSeconds: 60).issue(identity, now: Int64(Date().timeIntervalSince1970) - 3600)
            let forged = try TokenService(secret: Array("another-secret-another-secret-!!".utf8)).issue(identity)
            let valid = a.session.accessToken
            let parts = valid.split(separator: ".")
            let tampered = parts[0] + "." + parts[1].dropLast() + "A." + parts[2]
            for token in [expired, forged, String(tampered), "garbage", "a.b.c", ""] {
                let response = try await anon.send(.GET, "/api/connections", headers: HTTPHeaders([("Authorization", "Bearer \(token)")]), body: nil, authorized: false)
                #expect(response.status == 401)
            }
            // The WebSocket refuses them too.
            let bad = ChatClient(host: "127.0.0.1", port: port)
            bad.adopt(session: SessionResponse(clientId: "x", accessToken: forged, profile: a.session.profile, messagingServerAddress: ""))
            await #expect(throws: ChatClientError.self) { try await bad.connectRealtime() }
        }
    }

    /// Unknown IDs, bad query values, other users' data.
    @Test func unknownIDsAndBadQueries() async throws {
        try await TestServer.run { port in
            let a = try await TestUser.make("alice", port: port)
            for path in ["/api/profiles/abc", "/api/profiles/-1", "/api/chats/history?otherUserId=0&olderThan=2030-01-01T00:00:00Z",
                         "/api/chats/history?otherUserId=2&olderThan=2020-01-01T00:00:00Z", "/api/chats/history?otherUserId=2&olderThan=soon",
                         "/api/chats/user", "/api/chats/user?newerThan=2020-12-31T23:59:59Z", "/api/screens/oneChat?otherUserId=x&messagesOlderThan=2030-01-01T00:00:00Z",
                         "/api/files/list", "/api/files/BAD/1%2Fx.txt"] {
                let response = try await a.client.send(.GET, path, headers: HTTPHeaders(), body: nil)
                #expect(response.status == 400, "\(path)")
            }
            #expect(try await a.client.send(.GET, "/api/profiles/424242", headers: HTTPHeaders(), body: nil).status == 404)
            #expect(try await a.client.send(.GET, "/api/nope", headers: HTTPHeaders(), body: nil).status == 404)
            // A history with someone unknown is simply empty; there is no way to name another pair's chat.
            #expect(try await a.client.history(with: 424_242).isEmpty)
        }
    }

    /// Bad real-time frames get an error response; oversized frames close the connection; nothing is sent.
    @Test func badRealtimeFrames() async throws {
        try await TestServer.run { port in
            let a = try await TestUser.make("alice", port: port)
            let b = try await TestUser.make("bobby", port: port)
            let aRT = try await a.client.connectRealtime()
            let bInbox = Inbox(try await b.client.connectRealtime())
            for (receiver, text) in [(b.id, ""), (b.id, String(repeating: "x", count: 129)), (0, "hi"), (-5, "hi")] {
                do {
                    _ = try await aRT.sendPlainText(to: receiver, text: text)
                    Issue.record("accepted \(receiver) \(text.count)")
                } catch let ChatClientError.rejected(code, _, errors) {
                    #expect(code == 400)
                    #expect(!errors.isEmpty)
                }
            }
            do {
                try await aRT.acknowledge(messageID: 1, senderID: a.id, status: .delivered)
                Issue.record("self-ack accepted")
            } catch let ChatClientError.rejected(code, _, _) {
                #expect(code == 400)
            }
            // An oversized frame closes the connection.
            let text = String(repeating: "x", count: 20_000)
            await #expect(throws: ChatClientError.self) { _ = try await aRT.sendPlainText(to: b.id, text: text) }
            try await Task.sleep(for: .milliseconds(200))
            #expect(bInbox.count { $0.type == .plainText } == 0)
            #expect(try await a.client.history(with: b.id).isEmpty)
        }
    }
}
