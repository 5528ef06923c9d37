import NIOCore
import Testing
@testable import KafkaWire

@Suite("Partition assignors and the partitioner")
struct AssignorTests {
    let members = [
        KafkaGroupMemberSubscription(memberID: "b", topics: ["t1", "t2"]),
        KafkaGroupMemberSubscription(memberID: "a", topics: ["t1", "t2"]),
    ]

    @Test("Range: per topic, ranges by sorted member id; the first members get the remainder")
    func range() {
        let r = KafkaRangeAssignor().assign(members: members, partitionsPerTopic: ["t1": 3, "t2": 2])
        #expect(r["a"] == [KafkaTopicPartition("t1", 0), KafkaTopicPartition("t1", 1), KafkaTopicPartition("t2", 0)])
        #expect(r["b"] == [KafkaTopicPartition("t1", 2), KafkaTopicPartition("t2", 1)])
    }

    @Test("Round robin deals sorted partitions in turn")
    func roundRobin() {
        let r = KafkaRoundRobinAssignor().assign(members: members, partitionsPerTopic: ["t1": 3, "t2": 2])
        #expect(r["a"] == [KafkaTopicPartition("t1", 0), KafkaTopicPartition("t1", 2), KafkaTopicPartition("t2", 1)])
        #expect(r["b"] == [KafkaTopicPartition("t1", 1), KafkaTopicPartition("t2", 0)])
    }

    @Test("Cooperative sticky: keeps owned partitions, withholds moving ones, balances after revocation")
    func cooperativeSticky() {
        let a = CooperativeStickyScenario()
        // Round 1: a owns all 4 partitions, b joins.
        let r1 = KafkaCooperativeStickyAssignor().assign(members: [
            KafkaGroupMemberSubscription(memberID: "a", topics: ["t"], ownedPartitions: a.all),
            KafkaGroupMemberSubscription(memberID: "b", topics: ["t"]),
        ], partitionsPerTopic: ["t": 4])
        #expect(r1["a"]!.count == 2)
        #expect(r1["b"] == [])  // moving partitions are withheld in the first round
        // Round 2: a revoked the two it lost and rejoined.
        let r2 = KafkaCooperativeStickyAssignor().assign(members: [
            KafkaGroupMemberSubscription(memberID: "a", topics: ["t"], ownedPartitions: r1["a"]!),
            KafkaGroupMemberSubscription(memberID: "b", topics: ["t"]),
        ], partitionsPerTopic: ["t": 4])
        #expect(r2["a"] == r1["a"])
        #expect(Set(r2["b"]!).union(r2["a"]!) == Set(a.all))
        #expect(r2["b"]!.count == 2)
    }

    struct CooperativeStickyScenario {
        let all = (0..<4).map { KafkaTopicPartition("t", Int32($0)) }
    }

    @Test("Subscription and assignment bytes round trip (ConsumerProtocol v1/v0)")
    func consumerProtocol() throws {
        let owned = [KafkaTopicPartition("t", 1), KafkaTopicPartition("t", 3)]
        let s = try KafkaClassicGroupMember.encodeSubscription(topics: ["t", "u"], owned: owned)
        let (topics, back) = try KafkaClassicGroupMember.decodeSubscription(s)
        #expect(topics == ["t", "u"] && back == owned)
        let a = try KafkaClassicGroupMember.encodeAssignment(owned)
        #expect(try KafkaClassicGroupMember.decodeAssignment(a) == owned)
    }

    @Test("murmur2 partitioner = toPositive(javaMurmur2) % n, using Kafka's UtilsTest vectors")
    func partitioner() {
        let vectors: [(String, Int32)] = [("21", -973932308), ("foobar", -790332482), ("a-little-bit-long-string", -985981536),
                                          ("a-little-bit-longer-string", -1486304829), ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971), ("abc", 479470107)]
        for (key, javaHash) in vectors {
            for n: Int32 in [1, 3, 7, 64] {
                #expect(KafkaPartitioner.murmur2Partition(key: ByteBuffer(string: key), partitionCount: n) == (javaHash & 0x7fff_ffff) % n)
            }
        }
    }
}
