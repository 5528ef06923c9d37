/// One member's subscription as the group leader sees it.
public struct KafkaGroupMemberSubscription: Sendable, Hashable {
    /// Member id.
    public var memberID: String
    /// Static instance id, if any.
    public var groupInstanceID: String?
    /// Subscribed topics.
    public var topics: [String]
    /// Partitions the member owns now (cooperative protocols).
    public var ownedPartitions: [KafkaTopicPartition]

    /// Creates a subscription.
    public init(memberID: String, groupInstanceID: String? = nil, topics: [String], ownedPartitions: [KafkaTopicPartition] = []) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.topics = topics
        self.ownedPartitions = ownedPartitions
    }

    var sortKey: String { groupInstanceID ?? memberID }
}

/// A partition assignment strategy run by the group leader (classic protocol).
public protocol KafkaPartitionAssignor: Sendable {
    /// The protocol name sent in JoinGroup (`range`, `roundrobin`, `cooperative-sticky`).
    var name: String { get }
    /// Whether members keep their partitions during a rebalance and only give up those that move.
    var isCooperative: Bool { get }
    /// Computes each member's partitions.
    func assign(members: [KafkaGroupMemberSubscription], partitionsPerTopic: [String: Int32]) -> [String: [KafkaTopicPartition]]
}

/// The range assignor: per topic, consecutive partition ranges to members sorted by id.
public struct KafkaRangeAssignor: KafkaPartitionAssignor {
    /// `range`.
    public var name: String { "range" }
    /// Eager.
    public var isCooperative: Bool { false }
    /// Creates the assignor.
    public init() {}

    /// Assigns ranges.
    public func assign(members: [KafkaGroupMemberSubscription], partitionsPerTopic: [String: Int32]) -> [String: [KafkaTopicPartition]] {
        var result: [String: [KafkaTopicPartition]] = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, []) })
        for (topic, count) in partitionsPerTopic.sorted(by: { $0.key < $1.key }) {
            let subscribed = members.filter { $0.topics.contains(topic) }.sorted { $0.sortKey < $1.sortKey }
            guard !subscribed.isEmpty else { continue }
            let per = Int(count) / subscribed.count, extra = Int(count) % subscribed.count
            var next: Int32 = 0
            for (i, m) in subscribed.enumerated() {
                let n = per + (i < extra ? 1 : 0)
                for _ in 0..<n { result[m.memberID, default: []].append(KafkaTopicPartition(topic, next)); next += 1 }
            }
        }
        return result
    }
}

/// The round-robin assignor: all partitions, sorted, dealt to members in turn.
public struct KafkaRoundRobinAssignor: KafkaPartitionAssignor {
    /// `roundrobin`.
    public var name: String { "roundrobin" }
    /// Eager.
    public var isCooperative: Bool { false }
    /// Creates the assignor.
    public init() {}

    /// Deals partitions in turn.
    public func assign(members: [KafkaGroupMemberSubscription], partitionsPerTopic: [String: Int32]) -> [String: [KafkaTopicPartition]] {
        var result: [String: [KafkaTopicPartition]] = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, []) })
        let sorted = members.sorted { $0.sortKey < $1.sortKey }
        guard !sorted.isEmpty else { return result }
        var index = 0
        for (topic, count) in partitionsPerTopic.sorted(by: { $0.key < $1.key }) {
            for p in 0..<count {
                for _ in 0..<sorted.count {
                    let m = sorted[index % sorted.count]
                    index += 1
                    if m.topics.contains(topic) { result[m.memberID, default: []].append(KafkaTopicPartition(topic, p)); break }
                }
            }
        }
        return result
    }
}

/// The cooperative-sticky assignor (KIP-429): balanced, keeps owned partitions where it can, and
/// never hands a partition to a new owner in the same rebalance in which the old owner still has it —
/// the old owner revokes it and rejoins, and the next rebalance assigns it.
public struct KafkaCooperativeStickyAssignor: KafkaPartitionAssignor {
    /// `cooperative-sticky`.
    public var name: String { "cooperative-sticky" }
    /// Cooperative.
    public var isCooperative: Bool { true }
    /// Creates the assignor.
    public init() {}

    /// Sticky, balanced assignment with cooperative hand-over.
    public func assign(members: [KafkaGroupMemberSubscription], partitionsPerTopic: [String: Int32]) -> [String: [KafkaTopicPartition]] {
        let sortedMembers = members.sorted { $0.sortKey < $1.sortKey }
        var all: [KafkaTopicPartition] = []
        for (topic, count) in partitionsPerTopic.sorted(by: { $0.key < $1.key }) {
            for p in 0..<count { all.append(KafkaTopicPartition(topic, p)) }
        }
        let valid = Set(all)
        var owner: [KafkaTopicPartition: String] = [:]
        var assignment: [String: [KafkaTopicPartition]] = [:]
        for m in sortedMembers {
            assignment[m.memberID] = []
            for tp in m.ownedPartitions.sorted() where valid.contains(tp) && m.topics.contains(tp.topic) && owner[tp] == nil {
                owner[tp] = m.memberID
                assignment[m.memberID]!.append(tp)
            }
        }
        let previousOwner = owner
        guard !sortedMembers.isEmpty else { return assignment }
        // Quotas: floor or ceil of partitions per member.
        let base = all.count / sortedMembers.count
        var extra = all.count % sortedMembers.count
        var quota: [String: Int] = [:]
        for m in sortedMembers.sorted(by: { assignment[$0.memberID]!.count > assignment[$1.memberID]!.count }) {
            quota[m.memberID] = base + (extra > 0 ? 1 : 0)
            if extra > 0 { extra -= 1 }
        }
        // Members over quota give up their highest partitions.
        for m in sortedMembers {
            while assignment[m.memberID]!.count > quota[m.memberID]! {
                let tp = assignment[m.memberID]!.removeLast()
                owner[tp] = nil
            }
        }
        // Unowned partitions go to the subscribed member with the fewest.
        for tp in all where owner[tp] == nil {
            let candidates = sortedMembers.filter { $0.topics.contains(tp.topic) }
            guard let target = candidates.min(by: { a, b in
                let ca = assignment[a.memberID]!.count, cb = assignment[b.memberID]!.count
                return ca != cb ? ca < cb : a.sortKey < b.sortKey
            }) else { continue }
            owner[tp] = target.memberID
            assignment[target.memberID]!.append(tp)
        }
        // Cooperative: a partition moving from one member to another is withheld this round.
        for (memberID, tps) in assignment {
            assignment[memberID] = tps.filter { tp in
                guard let previous = previousOwner[tp] else { return true }
                return previous == memberID
            }.sorted()
        }
        return assignment
    }
}
