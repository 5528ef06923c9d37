import Logging
import NIOCore

/// A topic to create.
public struct KafkaNewTopic: Sendable, Hashable {
    /// Name.
    public var name: String
    /// Partition count (-1 = broker default).
    public var partitions: Int32
    /// Replication factor (-1 = broker default).
    public var replicationFactor: Int16
    /// Topic configs (e.g. `cleanup.policy`).
    public var configs: [String: String]
    /// Creates a topic description.
    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// A config resource (topic or broker).
public enum KafkaConfigResource: Sendable, Hashable {
    /// A topic.
    case topic(String)
    /// A broker by node id.
    case broker(Int32)

    var type: Int8 { switch self { case .topic: 2; case .broker: 4 } }
    var name: String { switch self { case .topic(let t): t; case .broker(let id): "\(id)" } }
}

/// A config entry as described by the broker.
public struct KafkaConfigEntry: Sendable, Hashable {
    /// Config name.
    public var name: String
    /// Value (nil for sensitive or unset).
    public var value: String?
    /// Whether read-only.
    public var readOnly: Bool
    /// Whether the value is the default.
    public var isDefault: Bool
}

/// An operation of IncrementalAlterConfigs.
public enum KafkaAlterConfigOp: Sendable, Hashable {
    /// Set `name` to `value`.
    case set(String, String)
    /// Revert `name` to its default.
    case delete(String)
}

/// A consumer group as listed by ListGroups.
public struct KafkaGroupListing: Sendable, Hashable {
    /// Group id.
    public var groupID: String
    /// Protocol type (`consumer` for consumer groups).
    public var protocolType: String
    /// State (`Stable`, `Empty`, ...), when the broker reports it.
    public var state: String?
}

/// A group as described by DescribeGroups.
public struct KafkaGroupDescription: Sendable, Hashable {
    /// Group id.
    public var groupID: String
    /// State.
    public var state: String
    /// Protocol type.
    public var protocolType: String
    /// Chosen protocol (assignor).
    public var protocolName: String
    /// Members: member id, client id, host, assigned partitions.
    public var members: [Member]
    /// Error code for this group.
    public var errorCode: Int16

    /// A member of a group.
    public struct Member: Sendable, Hashable {
        /// Member id.
        public var memberID: String
        /// Static instance id.
        public var groupInstanceID: String?
        /// Client id.
        public var clientID: String
        /// Client host.
        public var clientHost: String
        /// Assigned partitions (decoded consumer assignment).
        public var assignment: [KafkaTopicPartition]
    }
}

/// Cluster description.
public struct KafkaClusterDescription: Sendable, Hashable {
    /// Cluster id.
    public var clusterID: String?
    /// Controller node id.
    public var controllerID: Int32
    /// Brokers.
    public var brokers: [KafkaBrokerMetadata]
}

/// Administrative operations: topics, partitions, configs, groups, offsets, records.
public final class KafkaAdmin: Sendable {
    /// The cluster view.
    public let cluster: KafkaCluster
    let logger: Logger

    /// Creates an admin client.
    public init(configuration: KafkaClientConfiguration, cluster: KafkaCluster? = nil, logger: Logger) {
        self.cluster = cluster ?? KafkaCluster(configuration: configuration, logger: logger)
        self.logger = logger
    }

    /// Closes connections.
    public func shutdown() async { await cluster.shutdown() }

    func controller() async throws -> KafkaBrokerConnection {
        try await cluster.refreshMetadata(topics: [])
        let id = await cluster.controllerID
        if id >= 0, let c = try? await cluster.connection(to: id) { return c }
        return try await cluster.anyConnection()
    }

    /// Creates topics. Throws the first per-topic error (TOPIC_ALREADY_EXISTS included).
    public func createTopics(_ topics: [KafkaNewTopic], timeout: Duration = .seconds(30)) async throws {
        let connection = try await controller()
        let response = try await connection.send(.createTopics, [
            "Topics": .structs(topics.map { t in
                ["Name": .string(t.name), "NumPartitions": .int(Int64(t.partitions)), "ReplicationFactor": .int(Int64(t.replicationFactor)),
                 "Assignments": [], "Configs": .structs(t.configs.map { ["Name": .string($0.key), "Value": .string($0.value)] })]
            }),
            "timeoutMs": .int(KafkaClassicGroupMember.millis(timeout)), "validateOnly": false,
        ])
        for t in response.structs("Topics") {
            try KafkaError.check(t.int16("ErrorCode"), "CreateTopics(\(t.string("Name") ?? ""))", message: t.string("ErrorMessage"))
        }
        for t in topics { await cluster.invalidate(topic: t.name) }
    }

    /// Deletes topics by name.
    public func deleteTopics(_ names: [String], timeout: Duration = .seconds(30)) async throws {
        let connection = try await controller()
        let response = try await connection.send(.deleteTopics, [
            "TopicNames": .array(names.map { .string($0) }),
            "Topics": .structs(names.map { ["Name": .string($0), "TopicId": .uuid(.zero)] }),
            "TimeoutMs": .int(KafkaClassicGroupMember.millis(timeout)),
        ])
        for r in response.structs("Responses") {
            try KafkaError.check(r.int16("ErrorCode"), "DeleteTopics(\(r.string("Name") ?? ""))", message: r.string("ErrorMessage"))
        }
        for n in names { await cluster.invalidate(topic: n) }
    }

    /// Raises the partition count of topics.
    public func createPartitions(_ counts: [String: Int32], timeout: Duration = .seconds(30)) async throws {
        let connection = try await controller()
        let response = try await connection.send(.createPartitions, [
            "Topics": .structs(counts.map { ["Name": .string($0.key), "Count": .int(Int64($0.value)), "Assignments": .null] }),
            "TimeoutMs": .int(KafkaClassicGroupMember.millis(timeout)), "ValidateOnly": false,
        ])
        for r in response.structs("Results") {
            try KafkaError.check(r.int16("ErrorCode"), "CreatePartitions(\(r.string("Name") ?? ""))", message: r.string("ErrorMessage"))
        }
        for n in counts.keys { await cluster.invalidate(topic: n) }
    }

    /// Metadata of topics (nil = all).
    public func describeTopics(_ names: [String]?) async throws -> [KafkaTopicMetadata] {
        try await cluster.refreshMetadata(topics: names)
    }

    /// Names of all topics.
    public func listTopics() async throws -> [String] {
        try await cluster.refreshMetadata(topics: nil).filter { !$0.isInternal }.map(\.name).sorted()
    }

    /// Cluster id, controller and brokers (DescribeCluster when supported, else Metadata).
    public func describeCluster() async throws -> KafkaClusterDescription {
        let connection = try await cluster.anyConnection()
        if connection.supports(.describeCluster) {
            let r = try await connection.send(.describeCluster, ["IncludeClusterAuthorizedOperations": false, "EndpointType": .int(1)])
            try KafkaError.check(r.int16("ErrorCode"), "DescribeCluster", message: r.string("ErrorMessage"))
            let brokers = r.structs("Brokers").map {
                KafkaBrokerMetadata(nodeID: $0.int32("BrokerId"), address: KafkaBrokerAddress(host: $0.string("Host") ?? "", port: Int($0.int32("Port"))), rack: $0.string("Rack"))
            }
            return KafkaClusterDescription(clusterID: r.string("ClusterId"), controllerID: r.int32("ControllerId"), brokers: brokers)
        }
        try await cluster.refreshMetadata(topics: [])
        return KafkaClusterDescription(clusterID: await cluster.clusterID, controllerID: await cluster.controllerID,
                                       brokers: Array(await cluster.brokers.values).sorted { $0.nodeID < $1.nodeID })
    }

    /// Configs of resources.
    public func describeConfigs(_ resources: [KafkaConfigResource]) async throws -> [KafkaConfigResource: [KafkaConfigEntry]] {
        let connection = try await cluster.anyConnection()
        let response = try await connection.send(.describeConfigs, [
            "Resources": .structs(resources.map { ["ResourceType": .int(Int64($0.type)), "ResourceName": .string($0.name), "ConfigurationKeys": .null] }),
            "IncludeSynonyms": false, "IncludeDocumentation": false,
        ])
        var out: [KafkaConfigResource: [KafkaConfigEntry]] = [:]
        for r in response.structs("Results") {
            try KafkaError.check(r.int16("ErrorCode"), "DescribeConfigs(\(r.string("ResourceName") ?? ""))", message: r.string("ErrorMessage"))
            let name = r.string("ResourceName") ?? ""
            let resource: KafkaConfigResource = r.int("ResourceType") == 4 ? .broker(Int32(name) ?? -1) : .topic(name)
            out[resource] = r.structs("Configs").map {
                let source = $0.int("ConfigSource")
                return KafkaConfigEntry(name: $0.string("Name") ?? "", value: $0.string("Value"), readOnly: $0.bool("ReadOnly"),
                                        isDefault: $0["IsDefault"] != nil ? $0.bool("IsDefault") : source == 5)
            }
        }
        return out
    }

    /// IncrementalAlterConfigs.
    public func alterConfigs(_ changes: [KafkaConfigResource: [KafkaAlterConfigOp]]) async throws {
        let connection = try await cluster.anyConnection()
        let response = try await connection.send(.incrementalAlterConfigs, [
            "Resources": .structs(changes.map { (resource, ops) -> KafkaStruct in
                ["ResourceType": .int(Int64(resource.type)), "ResourceName": .string(resource.name),
                 "Configs": .structs(ops.map { op -> KafkaStruct in
                     switch op {
                     case .set(let k, let v): return ["Name": .string(k), "ConfigOperation": .int(0), "Value": .string(v)]
                     case .delete(let k): return ["Name": .string(k), "ConfigOperation": .int(1), "Value": .null]
                     }
                 })]
            }),
            "ValidateOnly": false,
        ])
        for r in response.structs("Responses") {
            try KafkaError.check(r.int16("ErrorCode"), "IncrementalAlterConfigs(\(r.string("ResourceName") ?? ""))", message: r.string("ErrorMessage"))
        }
    }

    /// Lists groups on every broker.
    public func listGroups() async throws -> [KafkaGroupListing] {
        try await cluster.refreshMetadata(topics: [])
        var out: [KafkaGroupListing] = []
        for id in await cluster.brokers.keys.sorted() {
            let connection = try await cluster.connection(to: id)
            let r = try await connection.send(.listGroups, ["StatesFilter": [], "TypesFilter": []])
            try KafkaError.check(r.int16("ErrorCode"), "ListGroups")
            out += r.structs("Groups").map { KafkaGroupListing(groupID: $0.string("GroupId") ?? "", protocolType: $0.string("ProtocolType") ?? "", state: $0.string("GroupState")) }
        }
        return out
    }

    /// Describes groups (state, protocol, members and their assignments).
    public func describeGroups(_ groupIDs: [String]) async throws -> [KafkaGroupDescription] {
        var out: [KafkaGroupDescription] = []
        for g in groupIDs {
            let coordinator = try await cluster.coordinator(for: g, type: .group)
            let r = try await coordinator.send(.describeGroups, ["Groups": .array([.string(g)]), "IncludeAuthorizedOperations": false])
            for d in r.structs("Groups") {
                let members = d.structs("Members").map { m in
                    KafkaGroupDescription.Member(memberID: m.string("MemberId") ?? "", groupInstanceID: m.string("GroupInstanceId"), clientID: m.string("ClientId") ?? "",
                                                 clientHost: m.string("ClientHost") ?? "",
                                                 assignment: (try? KafkaClassicGroupMember.decodeAssignment(m.bytes("MemberAssignment") ?? ByteBuffer())) ?? [])
                }
                out.append(KafkaGroupDescription(groupID: d.string("GroupId") ?? "", state: d.string("GroupState") ?? "", protocolType: d.string("ProtocolType") ?? "",
                                                 protocolName: d.string("ProtocolData") ?? "", members: members, errorCode: d.int16("ErrorCode")))
            }
        }
        return out
    }

    /// Deletes (empty) groups.
    public func deleteGroups(_ groupIDs: [String]) async throws {
        for g in groupIDs {
            let coordinator = try await cluster.coordinator(for: g, type: .group)
            let r = try await coordinator.send(.deleteGroups, ["GroupsNames": .array([.string(g)])])
            for res in r.structs("Results") { try KafkaError.check(res.int16("ErrorCode"), "DeleteGroups(\(g))") }
        }
    }

    /// Offsets by timestamp: -2 earliest, -1 latest, -3 max timestamp, else the first offset at or after the time.
    public func listOffsets(_ request: [KafkaTopicPartition: Int64], isolation: KafkaIsolationLevel = .readUncommitted) async throws -> [KafkaTopicPartition: Int64] {
        try await KafkaOffsetLookup.listOffsets(cluster: cluster, request, isolation: isolation)
    }

    /// Committed offsets of a group.
    public func listGroupOffsets(_ groupID: String, partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        try await KafkaOffsetLookup.committed(cluster: cluster, groupID: groupID, partitions: partitions, requireStable: false)
    }

    /// Deletes records before the given offsets; returns the new low watermarks.
    public func deleteRecords(_ before: [KafkaTopicPartition: Int64], timeout: Duration = .seconds(30)) async throws -> [KafkaTopicPartition: Int64] {
        var byLeader: [Int32: [KafkaTopicPartition: Int64]] = [:]
        for (tp, o) in before {
            let leader = try await cluster.leader(for: tp)
            byLeader[leader, default: [:]][tp] = o
        }
        var out: [KafkaTopicPartition: Int64] = [:]
        for (leader, parts) in byLeader {
            let connection = try await cluster.connection(to: leader)
            let byTopic = Dictionary(grouping: parts, by: \.key.topic)
            let r = try await connection.send(.deleteRecords, [
                "Topics": .structs(byTopic.map { t in ["Name": .string(t.key), "Partitions": .structs(t.value.map { ["PartitionIndex": .int(Int64($0.key.partition)), "Offset": .int($0.value)] })] }),
                "TimeoutMs": .int(KafkaClassicGroupMember.millis(timeout)),
            ])
            for t in r.structs("Topics") {
                for p in t.structs("Partitions") {
                    let tp = KafkaTopicPartition(t.string("Name") ?? "", p.int32("PartitionIndex"))
                    try KafkaError.check(p.int16("ErrorCode"), "DeleteRecords \(tp)")
                    out[tp] = p.int64("LowWatermark")
                }
            }
        }
        return out
    }
}
