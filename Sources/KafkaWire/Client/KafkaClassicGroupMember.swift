import Logging
import NIOCore
import Synchronization

/// Group membership as the consumer sees it. The classic protocol (JoinGroup/SyncGroup/Heartbeat)
/// implements it today; a KIP-848 member (ConsumerGroupHeartbeat, server-side assignment) would
/// implement the same protocol and plug into ``KafkaConsumer`` unchanged.
protocol KafkaGroupMembership: Sendable {
    /// Joins (or rejoins) the group and returns this member's partitions.
    func join(topics: [String], owned: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition]
    /// Whether the chosen protocol lets members keep partitions during a rebalance.
    var isCooperative: Bool { get }
    /// Sends one heartbeat; throws ``KafkaGroupRebalanceNeeded`` when the member must rejoin.
    func heartbeat() async throws
    /// Leaves the group.
    func leave() async
    /// The generation/member the commits must carry.
    var metadata: KafkaConsumerGroupMetadata { get }
}

/// Thrown by a heartbeat when the group is rebalancing or the member was removed.
struct KafkaGroupRebalanceNeeded: Error {
    var code: Int16
}

/// The classic consumer group protocol.
final class KafkaClassicGroupMember: KafkaGroupMembership {
    let groupID: String
    let configuration: KafkaConsumerConfiguration
    let cluster: KafkaCluster
    let logger: Logger
    struct State {
        var memberID = ""
        var generationID: Int32 = -1
        var protocolName: String?
    }
    let state = Mutex(State())

    init(groupID: String, configuration: KafkaConsumerConfiguration, cluster: KafkaCluster, logger: Logger) {
        self.groupID = groupID
        self.configuration = configuration
        self.cluster = cluster
        self.logger = logger
    }

    var metadata: KafkaConsumerGroupMetadata {
        state.withLock { KafkaConsumerGroupMetadata(groupID: groupID, generationID: $0.generationID, memberID: $0.memberID, groupInstanceID: configuration.groupInstanceID) }
    }

    var isCooperative: Bool {
        let name = state.withLock { $0.protocolName }
        return configuration.assignors.first { $0.name == name }?.isCooperative ?? false
    }

    static func millis(_ d: Duration) -> Int64 { d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 }

    func coordinator() async throws -> KafkaBrokerConnection {
        try await cluster.coordinator(for: groupID, type: .group)
    }

    func handleCoordinatorError(_ code: Int16) async {
        if KafkaErrorCode(rawValue: code)?.invalidatesCoordinator == true {
            await cluster.invalidateCoordinator(for: groupID, type: .group)
        }
    }

    static func encodeSubscription(topics: [String], owned: [KafkaTopicPartition]) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        let version: Int16 = 1
        buffer.writeInteger(version)
        let byTopic = Dictionary(grouping: owned, by: \.topic)
        try KafkaSchemaCodec.encode([
            "Topics": .array(topics.map { .string($0) }), "UserData": .null,
            "OwnedPartitions": .structs(byTopic.sorted { $0.key < $1.key }.map { ["Topic": .string($0.key), "Partitions": .array($0.value.map { .int(Int64($0.partition)) })] }),
        ], schema: KafkaSchemas.consumerProtocolSubscription, version: version, into: &buffer)
        return buffer
    }

    static func decodeSubscription(_ bytes: ByteBuffer) throws -> (topics: [String], owned: [KafkaTopicPartition]) {
        var b = bytes
        let version = try b.readCheckedInteger(as: Int16.self, field: "subscription version")
        let v = min(max(version, 0), KafkaSchemas.consumerProtocolSubscription.versions.upperBound)
        let s = try KafkaSchemaCodec.decode(&b, schema: KafkaSchemas.consumerProtocolSubscription, version: v)
        var owned: [KafkaTopicPartition] = []
        for t in s.structs("OwnedPartitions") { for p in t.ints("Partitions") { owned.append(KafkaTopicPartition(t.string("Topic") ?? "", Int32(p))) } }
        return (s.strings("Topics"), owned)
    }

    static func encodeAssignment(_ tps: [KafkaTopicPartition]) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        let version: Int16 = 0
        buffer.writeInteger(version)
        let byTopic = Dictionary(grouping: tps, by: \.topic)
        try KafkaSchemaCodec.encode([
            "AssignedPartitions": .structs(byTopic.sorted { $0.key < $1.key }.map { ["Topic": .string($0.key), "Partitions": .array($0.value.map { .int(Int64($0.partition)) })] }),
            "UserData": .null,
        ], schema: KafkaSchemas.consumerProtocolAssignment, version: version, into: &buffer)
        return buffer
    }

    static func decodeAssignment(_ bytes: ByteBuffer) throws -> [KafkaTopicPartition] {
        var b = bytes
        guard b.readableBytes >= 2 else { return [] }
        let version = try b.readCheckedInteger(as: Int16.self, field: "assignment version")
        let v = min(max(version, 0), KafkaSchemas.consumerProtocolAssignment.versions.upperBound)
        let s = try KafkaSchemaCodec.decode(&b, schema: KafkaSchemas.consumerProtocolAssignment, version: v)
        var out: [KafkaTopicPartition] = []
        for t in s.structs("AssignedPartitions") { for p in t.ints("Partitions") { out.append(KafkaTopicPartition(t.string("Topic") ?? "", Int32(p))) } }
        return out.sorted()
    }

    func join(topics: [String], owned: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition] {
        var attempts = 0
        while true {
            attempts += 1
            let memberID = state.withLock { $0.memberID }
            let metadataBytes = try Self.encodeSubscription(topics: topics, owned: owned)
            let coordinator = try await coordinator()
            let joinTimeout = configuration.rebalanceTimeout + configuration.sessionTimeout + .seconds(5)
            let join = try await coordinator.send(.joinGroup, [
                "GroupId": .string(groupID), "SessionTimeoutMs": .int(Self.millis(configuration.sessionTimeout)),
                "RebalanceTimeoutMs": .int(Self.millis(configuration.rebalanceTimeout)), "MemberId": .string(memberID),
                "GroupInstanceId": .optionalString(configuration.groupInstanceID), "ProtocolType": "consumer",
                "Protocols": .structs(configuration.assignors.map { ["Name": .string($0.name), "Metadata": .bytes(metadataBytes)] }),
                "Reason": .null,
            ], timeout: joinTimeout)
            let code = join.int16("ErrorCode")
            if code == KafkaErrorCode.memberIDRequired.rawValue {
                state.withLock { $0.memberID = join.string("MemberId") ?? "" }
                continue
            }
            if code == KafkaErrorCode.unknownMemberID.rawValue || code == KafkaErrorCode.illegalGeneration.rawValue {
                state.withLock { $0.memberID = ""; $0.generationID = -1 }
                continue
            }
            if code != 0 {
                await handleCoordinatorError(code)
                let error = KafkaError(code: code, context: "JoinGroup(\(groupID))")
                if (error.isRetriable || code == KafkaErrorCode.rebalanceInProgress.rawValue) && attempts < 50 {
                    try await Task.sleep(for: configuration.client.retryBackoff)
                    continue
                }
                throw error
            }
            let generation = join.int32("GenerationId")
            let myID = join.string("MemberId") ?? memberID
            let protocolName = join.string("ProtocolName")
            state.withLock { $0.memberID = myID; $0.generationID = generation; $0.protocolName = protocolName }
            var assignments: [KafkaStruct] = []
            if join.string("Leader") == myID {
                assignments = try await lead(members: join.structs("Members"), protocolName: protocolName ?? "")
            }
            let sync = try await coordinator.send(.syncGroup, [
                "GroupId": .string(groupID), "GenerationId": .int(Int64(generation)), "MemberId": .string(myID),
                "GroupInstanceId": .optionalString(configuration.groupInstanceID), "ProtocolType": "consumer",
                "ProtocolName": .optionalString(protocolName), "Assignments": .structs(assignments),
            ], timeout: joinTimeout)
            let syncCode = sync.int16("ErrorCode")
            if syncCode == KafkaErrorCode.rebalanceInProgress.rawValue { continue }
            if syncCode == KafkaErrorCode.unknownMemberID.rawValue || syncCode == KafkaErrorCode.illegalGeneration.rawValue {
                state.withLock { $0.memberID = ""; $0.generationID = -1 }
                continue
            }
            if syncCode != 0 {
                await handleCoordinatorError(syncCode)
                let error = KafkaError(code: syncCode, context: "SyncGroup(\(groupID))")
                if error.isRetriable && attempts < 50 { try await Task.sleep(for: configuration.client.retryBackoff); continue }
                throw error
            }
            let assigned = try Self.decodeAssignment(sync.bytes("Assignment") ?? ByteBuffer())
            logger.debug("joined group", metadata: ["group": "\(groupID)", "generation": "\(generation)", "protocol": "\(protocolName ?? "")", "assigned": "\(assigned)"])
            return assigned
        }
    }

    func lead(members: [KafkaStruct], protocolName: String) async throws -> [KafkaStruct] {
        guard let assignor = configuration.assignors.first(where: { $0.name == protocolName }) else {
            throw KafkaError(.inconsistentGroupProtocol, context: "leader has no assignor \(protocolName)")
        }
        var subscriptions: [KafkaGroupMemberSubscription] = []
        var topics = Set<String>()
        for m in members {
            let (t, owned) = try Self.decodeSubscription(m.bytes("Metadata") ?? ByteBuffer())
            subscriptions.append(KafkaGroupMemberSubscription(memberID: m.string("MemberId") ?? "", groupInstanceID: m.string("GroupInstanceId"), topics: t, ownedPartitions: owned))
            topics.formUnion(t)
        }
        var counts: [String: Int32] = [:]
        try await cluster.refreshMetadata(topics: Array(topics))
        for t in topics { if let m = try? await cluster.metadata(for: t) { counts[t] = Int32(m.partitions.count) } }
        let result = assignor.assign(members: subscriptions, partitionsPerTopic: counts)
        return try subscriptions.map { s -> KafkaStruct in
            let bytes = try Self.encodeAssignment(result[s.memberID] ?? [])
            return ["MemberId": .string(s.memberID), "Assignment": .bytes(bytes)]
        }
    }

    func heartbeat() async throws {
        let (memberID, generation) = state.withLock { ($0.memberID, $0.generationID) }
        let coordinator = try await coordinator()
        let response = try await coordinator.send(.heartbeat, [
            "GroupId": .string(groupID), "GenerationId": .int(Int64(generation)), "MemberId": .string(memberID),
            "GroupInstanceId": .optionalString(configuration.groupInstanceID),
        ])
        let code = response.int16("ErrorCode")
        switch KafkaErrorCode(rawValue: code) {
        case .noError?: return
        case .rebalanceInProgress?: throw KafkaGroupRebalanceNeeded(code: code)
        case .unknownMemberID?, .illegalGeneration?, .fencedInstanceID?:
            state.withLock { $0.memberID = ""; $0.generationID = -1 }
            throw KafkaGroupRebalanceNeeded(code: code)
        default:
            await handleCoordinatorError(code)
            throw KafkaError(code: code, context: "Heartbeat(\(groupID))")
        }
    }

    func leave() async {
        let memberID = state.withLock { $0.memberID }
        guard !memberID.isEmpty else { return }
        if configuration.groupInstanceID != nil { return }  // static members keep their assignment until the session expires
        guard let coordinator = try? await coordinator() else { return }
        _ = try? await coordinator.send(.leaveGroup, [
            "GroupId": .string(groupID), "MemberId": .string(memberID),
            "Members": .structs([["MemberId": .string(memberID), "GroupInstanceId": .optionalString(configuration.groupInstanceID), "Reason": .null]]),
        ])
        state.withLock { $0.memberID = ""; $0.generationID = -1 }
    }
}
