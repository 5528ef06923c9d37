import Testing
import WireCore
@testable import RedisWire

@Suite("TLS and Unix-socket transports against a real Redis", .serialized)
struct TransportInteropTests {
    @Test func tlsWithACLUserViaRedissURL() async throws {
        guard let url = PeerEnvironment.require("WIRESTACK_REDIS_TLS_URL"),
              let ca = PeerEnvironment.require("WIRESTACK_REDIS_TLS_CA") else { return }
        var config = try RedisClientConfiguration(url: url)
        config.connection.transport.tls?.trustRoots = .file(ca)
        config.connection.username = "swift"
        config.connection.password = "swiftpass"
        #expect(config.connection.transport.tls != nil)
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            #expect(try await client.send("ACL", "WHOAMI").string == "swift")
            try await client.set(p + "tls", to: "secure")
            #expect(try await client.get(p + "tls") == "secure")
            try await client.delete(p + "tls")
        }
        // Without the CA the handshake must fail (the server certificate is self-signed).
        var untrusted = try RedisConnectionConfiguration(url: url)
        untrusted.transport.tls?.trustRoots = .system
        await #expect(throws: (any Error).self) {
            _ = try await RedisConnection.connect(configuration: untrusted, logger: PeerEnvironment.logger).send("PING")
        }
    }

    @Test func unixSocketURL() async throws {
        guard let path = PeerEnvironment.require("WIRESTACK_REDIS_UNIX") else { return }
        let config = try RedisClientConfiguration(url: "unix://" + path + "?db=1")
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            #expect(try await client.ping() == "PONG")
            try await client.set(p + "unix", to: "local")
            #expect(try await client.get(p + "unix") == "local")
            let info = try await client.send("CLIENT", "INFO").string ?? ""
            #expect(info.contains("db=1"))
            try await client.delete(p + "unix")
        }
    }
}
