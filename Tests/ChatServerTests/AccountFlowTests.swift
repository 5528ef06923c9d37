import ChatServer
import ChatWire
import NIOCore
import NIOHTTP1
import Testing

@Suite(.serialized) struct AccountFlowTests {
    /// Flows 1, 2 and 14: register, log in, edit profile and password with optimistic concurrency.
    @Test func registerLogInAndEditProfile() async throws {
        try await TestServer.run { port in
            let alice = try await TestUser.make("alice", port: port)
            #expect(alice.session.profile.userName == "alice")
            #expect(alice.session.profile.avatarUrl == "https://cdn.cecochat.com/avatars/alice.jpg")
            #expect(!alice.session.clientId.isEmpty)
            #expect(alice.session.messagingServerAddress.hasPrefix("http://"))

            let other = ChatClient(host: "127.0.0.1", port: port)
            let dup = RegistrationRequest(userName: "alice", password: "password-123", displayName: "Other", phone: "0888123456", email: "x@example.com")
            #expect(await status { try await other.register(dup) } == 409)
            #expect(await status { try await other.logIn(userName: "alice", password: "wrong-password") } == 401)
            #expect(await status { try await other.logIn(userName: "nobody", password: "password-123") } == 401)
            // Log-in is case-insensitive on the user name, as in the reference.
            _ = try await other.logIn(userName: "ALICE", password: "password-123")

            let v1 = alice.session.profile.version
            let v2 = try await alice.client.updateProfile(displayName: "Alice Liddell", version: v1)
            #expect(v2 > v1)
            #expect(await status { try await alice.client.updateProfile(displayName: "Stale Edit", version: v1) } == 409)
            #expect(try await alice.client.profile(of: alice.id).displayName == "Alice Liddell")

            let v3 = try await alice.client.changePassword(to: "new-password-1", version: v2)
            #expect(v3 > v2)
            #expect(await status { try await alice.client.changePassword(to: "new-password-2", version: v2) } == 409)
            #expect(await status { try await other.logIn(userName: "alice", password: "password-123") } == 401)
            _ = try await other.logIn(userName: "alice", password: "new-password-1")
        }
    }

    /// Public profiles by ID, by ID list and by search (flow 14).
    @Test func profilesAndSearch() async throws {
        try await TestServer.run { port in
            let maria = try await TestUser.make("maria", port: port)
            let mario = try await TestUser.make("mario", port: port)
            _ = try await TestUser.make("bobby", port: port)
            #expect(try await maria.client.profile(of: mario.id).userName == "mario")
            #expect(await status { try await maria.client.profile(of: 999_999) } == 404)
            let both = try await maria.client.profiles(of: [mario.id, maria.id, mario.id])
            #expect(both.map(\.userName) == ["maria", "mario"])
            let found = try await maria.client.searchProfiles("mar")
            #expect(Set(found.map(\.userName)) == ["maria", "mario"])
            #expect(await status { try await maria.client.searchProfiles("ma") } == 400)
            #expect(await status { try await maria.client.searchProfiles("ma'; --") } == 400)
            #expect(await status { try await maria.client.profiles(of: [0]) } == 400)
            #expect(await status { try await maria.client.profiles(of: Array(1...33)) } == 400)
            let neither: Int? = await status { () async throws -> ProfilesResponse in try await maria.client.call(.GET, "/api/profiles") }
            #expect(neither == 400)
            let both2: Int? = await status { () async throws -> ProfilesResponse in try await maria.client.call(.GET, "/api/profiles?userIds=1&searchPattern=mar") }
            #expect(both2 == 400)
        }
    }

    /// Flow 13: invite, approve, cancel, remove, with notifications to both users.
    @Test func connectionsLifecycle() async throws {
        try await TestServer.run { port in
            let a = try await TestUser.make("anna", port: port)
            let b = try await TestUser.make("boris", port: port)
            let c = try await TestUser.make("carla", port: port)
            let aInbox = Inbox(try await a.client.connectRealtime())
            let bInbox = Inbox(try await b.client.connectRealtime())

            let pending = try await a.client.invite(b.id)
            for inbox in [aInbox, bInbox] {
                let n = try await inbox.take { $0.type == .connection }
                #expect(n.connection.status == .pending)
            }
            #expect(try await b.client.connections().first?.status == .pending)
            #expect(await status { try await a.client.invite(b.id) } == 409)          // already exists
            #expect(await status { try await a.client.invite(999_999) } == 409)       // missing user
            #expect(await status { try await a.client.invite(a.id) } == 400)          // self
            #expect(await status { try await a.client.approve(b.id, version: pending) } == 409) // only the invitee approves
            #expect(await status { try await c.client.approve(a.id, version: pending) } == 404) // no such connection

            let connected = try await b.client.approve(a.id, version: pending)
            let approved = try await aInbox.take { $0.type == .connection && $0.connection.status == .connected }
            #expect(approved.senderID == b.id && approved.receiverID == a.id) // sender = the actor
            _ = try await bInbox.take { $0.type == .connection && $0.connection.status == .connected }
            #expect(await status { try await a.client.removeConnection(b.id, version: pending) } == 409) // stale version
            let removed = try await a.client.removeConnection(b.id, version: connected)
            #expect(try await b.client.connections().first?.status == .notConnected)

            // Re-invite from NotConnected, then cancel.
            let again = try await b.client.invite(a.id)
            #expect(again > removed)
            _ = try await a.client.cancelInvite(b.id, version: again)
            #expect(try await a.client.connections().first?.status == .notConnected)
            #expect(await status { try await a.client.cancelInvite(b.id, version: again) } == 409)
        }
    }
}
