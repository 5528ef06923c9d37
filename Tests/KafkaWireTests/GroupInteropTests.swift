import Foundation
import KafkaWire
import NIOCore
import Testing

@Suite("Consumer groups against Tansu and noida-db", .serialized, .timeLimit(.minutes(4)))
struct GroupInteropTests {
    func fill(_ bootstrap: String, _ topic: String, partitions: Int32, perPartition: Int) async throws {
        let producer = KafkaProducer(configuration: Interop.producerConfig(bootstrap), logger: KafkaPeers.logger)
        for p in 0..<partitions { for i in 0..<perPartition { try await producer.enqueue(KafkaProducerRecord(topic: topic, partition: p, value: "p\(p)-\(i)")) } }
        await producer.flush()
        await producer.shutdown()
    }

    func waitUntil(_ timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }

    @Test("Two KafkaWire members rebalance (range, round-robin, cooperative-sticky); commits survive", arguments: KafkaPeers.brokerNames, ["range", "roundrobin", "cooperative-sticky"])
    func twoMembers(_ broker: String, _ assignorName: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 4)
        try await fill(bootstrap, topic, partitions: 4, perPartition: 5)
        let group = KafkaPeers.uniqueName("g")
        let assignor: any KafkaPartitionAssignor = switch assignorName {
        case "range": KafkaRangeAssignor()
        case "roundrobin": KafkaRoundRobinAssignor()
        default: KafkaCooperativeStickyAssignor()
        }
        var config = Interop.consumerConfig(bootstrap, group: group)
        config.assignors = [assignor]
        config.enableAutoCommit = false
        let c1 = KafkaConsumer(configuration: config, logger: KafkaPeers.logger)
        let events = Collector()
        let assignedLog = LockedList()
        try c1.subscribe(topics: [topic], listener: KafkaRebalanceListener(onRevoked: { assignedLog.append("c1-revoked \($0.count)") },
                                                                           onAssigned: { assignedLog.append("c1-assigned \($0.count)") }))
        let reader1 = Task { for try await b in c1.batches() { events.add(b) } }
        #expect(try await waitUntil { events.count == 20 })
        try await c1.commit()
        #expect(try await c1.committed((0..<4).map { KafkaTopicPartition(topic, $0) }).values.sorted() == [5, 5, 5, 5])
        let c2 = KafkaConsumer(configuration: config, logger: KafkaPeers.logger)
        try c2.subscribe(topics: [topic])
        let reader2 = Task { for try await _ in c2.batches() {} }
        let balanced = try await waitUntil { c1.assignment.count == 2 && c2.assignment.count == 2 }
        #expect(balanced, "c1=\(c1.assignment) c2=\(c2.assignment)")
        #expect(Set(c1.assignment).isDisjoint(with: c2.assignment))
        await c1.shutdown()  // LeaveGroup: c2 takes everything
        #expect(try await waitUntil { c2.assignment.count == 4 }, "c2=\(c2.assignment)")
        await c2.shutdown()
        _ = await reader1.result
        _ = await reader2.result
        #expect(assignedLog.items.contains { $0.hasPrefix("c1-assigned") })
    }

    @Test("A KafkaWire member and a librdkafka member rebalance between them", arguments: KafkaPeers.brokerNames, ["range", "cooperative-sticky"])
    func mixedWithLibrdkafka(_ broker: String, _ assignorName: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker), KafkaPeers.python != nil else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 4)
        try await fill(bootstrap, topic, partitions: 4, perPartition: 3)
        let group = KafkaPeers.uniqueName("mixed")
        var config = Interop.consumerConfig(bootstrap, group: group)
        config.assignors = assignorName == "range" ? [KafkaRangeAssignor()] : [KafkaCooperativeStickyAssignor()]
        let ours = KafkaConsumer(configuration: config, logger: KafkaPeers.logger)
        try ours.subscribe(topics: [topic])
        let reader = Task { for try await _ in ours.batches() {} }
        #expect(try await waitUntil { ours.assignment.count == 4 })
        let theirs = try KafkaPeers.Background("group_member.py", [bootstrap, topic, group, "12", assignorName])
        #expect(try await waitUntil { ours.assignment.count == 2 }, "ours=\(ours.assignment)")
        let events = await theirs.finishAsync()  // librdkafka member consumed 12 s and left
        let done = events.last { $0["event"] as? String == "done" }
        let theirAssignment = Set((done?["assignment"] as? [Int] ?? []).map(Int32.init))
        #expect(theirAssignment.count == 2)
        #expect(theirAssignment.isDisjoint(with: Set(ours.assignment.map(\.partition))) || ours.assignment.count == 4)
        #expect(try await waitUntil { ours.assignment.count == 4 }, "after librdkafka left: \(ours.assignment)")
        await ours.shutdown()
        _ = await reader.result
    }

    @Test("Static membership: a restarted member with the same instance id gets its partitions back without a full rebalance", arguments: KafkaPeers.brokerNames)
    func staticMembership(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 2)
        var config = Interop.consumerConfig(bootstrap, group: KafkaPeers.uniqueName("static"))
        config.groupInstanceID = "instance-1"
        config.assignors = [KafkaRangeAssignor()]
        let first = KafkaConsumer(configuration: config, logger: KafkaPeers.logger)
        try first.subscribe(topics: [topic])
        #expect(try await waitUntil { first.assignment.count == 2 })
        await first.shutdown()  // static members do not send LeaveGroup
        let second = KafkaConsumer(configuration: config, logger: KafkaPeers.logger)
        try second.subscribe(topics: [topic])
        #expect(try await waitUntil(.seconds(15)) { second.assignment.count == 2 })
        await second.shutdown()
    }

    @Test("Manual assignment: seek, pause/resume, commit sync and async, committed offsets", arguments: KafkaPeers.brokerNames)
    func manualAssignment(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 2)
        try await fill(bootstrap, topic, partitions: 2, perPartition: 10)
        var config = Interop.consumerConfig(bootstrap, group: KafkaPeers.uniqueName("manual"))
        config.enableAutoCommit = false
        let consumer = KafkaConsumer(configuration: config, logger: KafkaPeers.logger)
        let tp0 = KafkaTopicPartition(topic, 0), tp1 = KafkaTopicPartition(topic, 1)
        consumer.assign([tp0: .offset(5), tp1: .earliest])
        consumer.pause([tp1])
        var it = consumer.records().makeAsyncIterator()
        var seen: [KafkaConsumerRecord] = []
        while seen.count < 5, let r = try await it.next() { seen.append(r) }
        #expect(seen.map(\.offset) == [5, 6, 7, 8, 9] && seen.allSatisfy { $0.partition == 0 })
        consumer.resume([tp1])
        while seen.count < 15, let r = try await it.next() { seen.append(r) }
        #expect(seen.filter { $0.partition == 1 }.map(\.offset) == Array(0..<10))
        try await consumer.commit()
        #expect(try await consumer.committed([tp0, tp1]) == [tp0: 10, tp1: 10])
        try consumer.seek(tp0, to: 2)
        let again = try await it.next()
        #expect(again?.partition == 0 && again?.offset == 2)
        let done = LockedList()
        consumer.commitAsync { error in done.append(error == nil ? "ok" : "\(error!)") }
        #expect(try await waitUntil(.seconds(10)) { !done.items.isEmpty })
        #expect(done.items == ["ok"])
        #expect(try await consumer.committed([tp0])[tp0] == 3)
        await consumer.shutdown()
    }
}

final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var _items: [String] = []
    func append(_ s: String) { lock.withLock { _items.append(s) } }
    var items: [String] { lock.withLock { _items } }
}
