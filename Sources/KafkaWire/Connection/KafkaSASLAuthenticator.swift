import NIOCore
import WireCore

/// Runs SaslHandshake + SaslAuthenticate on a fresh connection.
enum KafkaSASLAuthenticator {
    static func authenticate(_ connection: KafkaBrokerConnection, mechanism: KafkaSASLMechanism) async throws {
        let handshakeVersion = try connection.version(for: .saslHandshake)
        let handshake = try await connection.send(.saslHandshake, ["Mechanism": .string(mechanism.name)], version: min(handshakeVersion, 1))
        let code = handshake.int16("ErrorCode")
        guard code == 0 else {
            throw KafkaConnectionError.authenticationFailed("\(mechanism.name) not enabled; broker offers \(handshake.strings("Mechanisms"))")
        }
        guard connection.supports(.saslAuthenticate) else {
            throw KafkaConnectionError.authenticationFailed("broker lacks SaslAuthenticate (raw SASL frames are not supported)")
        }
        func exchange(_ bytes: [UInt8]) async throws -> [UInt8] {
            let response = try await connection.send(.saslAuthenticate, ["AuthBytes": .bytes(ByteBuffer(bytes: bytes))])
            let code = response.int16("ErrorCode")
            guard code == 0 else {
                throw KafkaConnectionError.authenticationFailed(response.string("ErrorMessage") ?? "error code \(code)")
            }
            var b = response.bytes("AuthBytes") ?? ByteBuffer()
            return b.readBytes(length: b.readableBytes) ?? []
        }
        switch mechanism {
        case .plain(let user, let password):
            _ = try await exchange(Array("\0\(user)\0\(password)".utf8))
        case .scramSHA256(let user, let password):
            // Kafka's Java broker and librdkafka hash the password's UTF-8 bytes without SASLprep.
            var scram = try SCRAMClient(hash: .sha256, username: user, password: password, preparation: .unchanged)
            try await runSCRAM(&scram, exchange)
        case .scramSHA512(let user, let password):
            var scram = try SCRAMClient(hash: .sha512, username: user, password: password, preparation: .unchanged)
            try await runSCRAM(&scram, exchange)
        }
    }

    static func runSCRAM(_ scram: inout SCRAMClient, _ exchange: ([UInt8]) async throws -> [UInt8]) async throws {
        let serverFirst = try await exchange(Array(scram.clientFirstMessage().utf8))
        let clientFinal = try scram.clientFinalMessage(serverFirst: serverFirst)
        let serverFinal = try await exchange(clientFinal)
        try scram.verifyServerFinal(serverFinal)
    }
}
