/// OffsetFetch and ListOffsets, shared by the consumer and the admin client.
enum KafkaOffsetLookup {
    /// Committed offsets of `groupID` (partitions without a commit are absent).
    static func committed(cluster: KafkaCluster, groupID: String, partitions: [KafkaTopicPartition], requireStable: Bool) async throws -> [KafkaTopicPartition: Int64] {
        var attempts = 0
        while true {
            attempts += 1
            let coordinator = try await cluster.coordinator(for: groupID, type: .group)
            let version = try coordinator.version(for: .offsetFetch)
            let byTopic = Dictionary(grouping: partitions, by: \.topic)
            let topics: KafkaValue = .structs(byTopic.map { ["Name": .string($0.key), "PartitionIndexes": .array($0.value.map { .int(Int64($0.partition)) })] })
            let response = try await coordinator.send(.offsetFetch, [
                "GroupId": .string(groupID), "Topics": topics, "RequireStable": .bool(requireStable),
                "Groups": .structs([["GroupId": .string(groupID), "MemberId": .null, "MemberEpoch": .int(-1), "Topics": topics]]),
            ])
            var code = response.int16("ErrorCode")
            var topicResults = response.structs("Topics")
            if version >= 8, let g = response.structs("Groups").first {
                code = g.int16("ErrorCode")
                topicResults = g.structs("Topics")
            }
            if code != 0 {
                let error = KafkaError(code: code, context: "OffsetFetch(\(groupID))")
                if error.code?.invalidatesCoordinator == true { await cluster.invalidateCoordinator(for: groupID, type: .group) }
                if error.isRetriable && attempts < 20 { try await Task.sleep(for: cluster.configuration.retryBackoff); continue }
                throw error
            }
            var out: [KafkaTopicPartition: Int64] = [:]
            var retry = false
            for t in topicResults {
                for p in t.structs("Partitions") {
                    let pc = p.int16("ErrorCode")
                    if pc != 0 {
                        if KafkaErrorCode(rawValue: pc)?.isRetriable == true { retry = true; continue }
                        throw KafkaError(code: pc, context: "OffsetFetch(\(groupID)) \(t.string("Name") ?? "")-\(p.int32("PartitionIndex"))")
                    }
                    let offset = p.int64("CommittedOffset")
                    if offset >= 0 { out[KafkaTopicPartition(t.string("Name") ?? "", p.int32("PartitionIndex"))] = offset }
                }
            }
            if retry && attempts < 20 { try await Task.sleep(for: cluster.configuration.retryBackoff); continue }
            return out
        }
    }

    /// ListOffsets: timestamps -2 (earliest), -1 (latest), -3 (max timestamp) or a time in ms.
    static func listOffsets(cluster: KafkaCluster, _ request: [KafkaTopicPartition: Int64], isolation: KafkaIsolationLevel) async throws -> [KafkaTopicPartition: Int64] {
        var byLeader: [Int32: [KafkaTopicPartition: Int64]] = [:]
        for (tp, ts) in request {
            let leader = try await cluster.leader(for: tp)
            byLeader[leader, default: [:]][tp] = ts
        }
        var out: [KafkaTopicPartition: Int64] = [:]
        for (leader, parts) in byLeader {
            let connection = try await cluster.connection(to: leader)
            let byTopic = Dictionary(grouping: parts, by: \.key.topic)
            let response = try await connection.send(.listOffsets, [
                "ReplicaId": .int(-1), "IsolationLevel": .int(Int64(isolation.rawValue)), "TimeoutMs": .int(30000),
                "Topics": .structs(byTopic.map { t in
                    ["Name": .string(t.key), "Partitions": .structs(t.value.map { ["PartitionIndex": .int(Int64($0.key.partition)), "Timestamp": .int($0.value), "CurrentLeaderEpoch": .int(-1), "MaxNumOffsets": .int(1)] })]
                }),
            ])
            for t in response.structs("Topics") {
                for p in t.structs("Partitions") {
                    let tp = KafkaTopicPartition(t.string("Name") ?? "", p.int32("PartitionIndex"))
                    try KafkaError.check(p.int16("ErrorCode"), "ListOffsets \(tp)")
                    let old = p.ints("OldStyleOffsets")
                    out[tp] = p["Offset"] != nil ? p.int64("Offset") : (old.first ?? -1)
                }
            }
        }
        return out
    }
}
