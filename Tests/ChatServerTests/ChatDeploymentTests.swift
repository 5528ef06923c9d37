import ChatServer
import Foundation
import Logging
import Testing

/// How `chat-server` reads its deployment: config file, then `CHAT_*` variables, then flags.
@Suite struct ChatDeploymentTests {
    @Test func embeddedByDefault() {
        let deployment = ChatDeployment()
        #expect(deployment.isEmbedded)
        #expect(deployment.cassandraKeyspace == "chats")
    }

    @Test func configFileThenEnvironmentThenFlags() throws {
        let path = TestServer.temporaryDirectory() + "/chat.conf"
        try """
            # distributed deployment
            postgres = 10.0.0.1:5433,10.0.0.2:5433   # two tservers
            cassandra = 127.0.0.1:9042
            cassandra-keyspace = chats_a
            redis = 127.0.0.1:6379
            server-id = 3
            """.write(toFile: path, atomically: true, encoding: .utf8)
        var deployment = ChatDeployment()
        try deployment.apply(configFile: path)
        #expect(deployment.postgres == "10.0.0.1:5433,10.0.0.2:5433")
        #expect(deployment.serverID == 3)
        #expect(!deployment.isEmbedded)
        try deployment.apply(environment: ["CHAT_CASSANDRA_KEYSPACE": "chats_b", "CHAT_REDIS_PREFIX": "x:", "HOME": "/root"])
        #expect(deployment.cassandraKeyspace == "chats_b")
        #expect(deployment.redisPrefix == "x:")
        try deployment.set("server-id", "4")
        #expect(deployment.serverID == 4)
        try deployment.set("roles", "bff, messaging")
        #expect(deployment.roles == ["bff", "messaging"])
    }

    @Test func rolesAndPeerAddresses() throws {
        let path = TestServer.temporaryDirectory() + "/roles.conf"
        try """
            roles = bff, messaging
            idgen-address = 10.0.0.7:7001
            user-address = 10.0.0.7:7001
            breaker-threshold = 3
            """.write(toFile: path, atomically: true, encoding: .utf8)
        var deployment = ChatDeployment()
        try deployment.apply(configFile: path)
        try deployment.apply(environment: ["CHAT_CHATS_ADDRESS": "10.0.0.8:7002", "CHAT_CONFIG_ADDRESS": "10.0.0.8:7002", "CHAT_INTERNAL_TIMEOUT_MS": "2000"])
        try deployment.set("internal-grpc-port", "7000")
        try deployment.set("breaker-cool-down-ms", "250")
        #expect(deployment.roleSet == [.bff, .messaging])
        #expect(deployment.address(of: .idgen) == "10.0.0.7:7001")
        #expect(deployment.address(of: .user) == "10.0.0.7:7001")
        #expect(deployment.address(of: .chats) == "10.0.0.8:7002")
        #expect(deployment.address(of: .config) == "10.0.0.8:7002")
        #expect(deployment.internalGRPCPort == 7000)
        #expect(deployment.internalTimeoutMilliseconds == 2000)
        #expect(deployment.breakerThreshold == 3 && deployment.breakerCoolDownMilliseconds == 250)
        #expect(ChatDeployment().roleSet == Set(ChatRole.allCases))
        #expect(throws: ChatDeployment.SettingError.self) { try deployment.set("roles", "bff, history") }
        #expect(throws: ChatDeployment.SettingError.self) { try deployment.set("user-address", "10.0.0.7") }
        #expect(throws: ChatDeployment.SettingError.self) { try deployment.set("breaker-threshold", "0") }
        #expect(throws: ChatDeployment.SettingError.self) { try deployment.set("id-buffer-size", "1") }
    }

    /// The scale-out settings come from the deployment alone (one source of truth).
    @Test func scaleOutIsDerivedFromTheDeployment() throws {
        var deployment = ChatDeployment()
        #expect(ScaleOutConfiguration(deployment: deployment).kafka == nil)
        try deployment.set("kafka", "127.0.0.1:9092")
        try deployment.set("kafka-prefix", "t1-")
        try deployment.set("kafka-session-timeout-ms", "6000")
        try deployment.set("server-id", "2")
        let scaleOut = ScaleOutConfiguration(deployment: deployment)
        #expect(scaleOut.serverID == "2")
        #expect(scaleOut.kafka?.bootstrap == "127.0.0.1:9092")
        #expect(scaleOut.kafka?.topic == "t1-messages-by-receiver")
        #expect(scaleOut.kafka?.configTopic == "t1-config-changes")
        #expect(scaleOut.kafka?.groupPrefix == "t1-")
        #expect(scaleOut.kafka?.sessionTimeout == .seconds(6))
    }

    /// A process refuses to start when its roles need a role it neither runs nor can reach, or
    /// when roles that meet on the backplane are split without a shared (Kafka) backplane.
    @Test func refusesIncompleteRoleSplits() async throws {
        for (roles, addresses, needle) in [
            (["bff", "messaging", "idgen", "chats", "config"], [String: String](), "user-address"),
            (["messaging", "chats", "user"], ["config-address": "127.0.0.1:1"], "idgen-address"),
            (["bff", "messaging"], ["idgen-address": "127.0.0.1:1", "user-address": "127.0.0.1:1", "chats-address": "127.0.0.1:1", "config-address": "127.0.0.1:1"], "--kafka"),
            (["chats", "user", "config", "idgen"], [:], "--kafka"),
        ] {
            var deployment = ChatDeployment()
            try deployment.set("roles", roles.joined(separator: ","))
            for (key, value) in addresses { try deployment.set(key, value) }
            var configuration = ChatServerConfiguration()
            configuration.port = 0
            configuration.dataDirectory = TestServer.temporaryDirectory()
            configuration.deployment = deployment
            do {
                _ = try await ChatServer.makeApplication(configuration: configuration, logger: Logger(label: "roles-check"))
                Issue.record("roles \(roles) with \(addresses) started")
            } catch let error as ChatDeployment.SettingError {
                #expect(error.description.contains(needle), "\(error)")
            }
        }
    }

    @Test func refusesBadSettings() {
        var deployment = ChatDeployment()
        #expect(throws: ChatDeployment.SettingError.self) { try deployment.set("postgress", "x") }
        #expect(throws: ChatDeployment.SettingError.self) { try deployment.set("server-id", "one") }
        // Keyspaces are spliced into CQL: only plain identifiers.
        #expect(throws: ChatDeployment.SettingError.self) { try deployment.set("cassandra-keyspace", "chats; DROP KEYSPACE x") }
    }
}
