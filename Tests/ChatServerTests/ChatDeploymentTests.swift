import ChatServer
import Foundation
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

    @Test func refusesBadSettings() {
        var deployment = ChatDeployment()
        #expect(throws: ChatDeployment.SettingError.self) { try deployment.set("postgress", "x") }
        #expect(throws: ChatDeployment.SettingError.self) { try deployment.set("server-id", "one") }
        // Keyspaces are spliced into CQL: only plain identifiers.
        #expect(throws: ChatDeployment.SettingError.self) { try deployment.set("cassandra-keyspace", "chats; DROP KEYSPACE x") }
    }
}
