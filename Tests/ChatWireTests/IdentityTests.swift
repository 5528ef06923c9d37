import ChatWire
import Synchronization
import Testing

@Suite struct SnowflakeTests {
    @Test func layoutMatchesTheReference() {
        // 2021-01-01T00:00:01.234Z, generator 7 → timestamp 1234 ms after the epoch.
        let generator = SnowflakeGenerator(generatorID: 7) { Snowflake.epochMilliseconds + 1234 }
        let first = generator.next()
        #expect(first == (1234 << 22) | (7 << 14))
        #expect(Snowflake.unixMilliseconds(of: first) == Snowflake.epochMilliseconds + 1234)
        #expect(Snowflake.generator(of: first) == 7)
        #expect(generator.next() == first + 1)
    }

    @Test func uniqueAndIncreasingUnderConcurrency() async {
        let generator = SnowflakeGenerator(generatorID: 1)
        let all = await withTaskGroup(of: [Int64].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<20_000).map { _ in generator.next() } }
            }
            var ids: [Int64] = []
            for await chunk in group {
                // Within one task the IDs strictly increase.
                #expect(zip(chunk, chunk.dropFirst()).allSatisfy { $0 < $1 })
                ids += chunk
            }
            return ids
        }
        #expect(Set(all).count == all.count)
    }

    @Test func clockRegressionNeverRepeatsOrGoesBack() {
        let now = Atomic<Int64>(Snowflake.epochMilliseconds + 10_000)
        let generator = SnowflakeGenerator(generatorID: 0) { now.load(ordering: .relaxed) }
        let a = generator.next()
        now.store(Snowflake.epochMilliseconds + 5_000, ordering: .relaxed) // the clock steps back 5 s
        let b = generator.next()
        let c = generator.next()
        #expect(a < b && b < c)
        #expect(Snowflake.unixMilliseconds(of: b) == Snowflake.epochMilliseconds + 10_000)
    }

    @Test func sequenceOverflowMovesToTheNextMillisecond() {
        let generator = SnowflakeGenerator(generatorID: 3) { Snowflake.epochMilliseconds + 42 }
        var last: Int64 = 0
        for _ in 0...Snowflake.maxSequence { last = generator.next() }
        #expect(last & Snowflake.maxSequence == Snowflake.maxSequence)
        let next = generator.next()
        #expect(next > last)
        #expect(Snowflake.unixMilliseconds(of: next) == Snowflake.epochMilliseconds + 43)
        #expect(next & Snowflake.maxSequence == 0)
    }

    @Test func floorAndCeilingBounds() {
        let epochMicros = Snowflake.epochMilliseconds * 1000
        #expect(Snowflake.floor(unixMicroseconds: epochMicros + 1_500) == 1 << 22)
        #expect(Snowflake.ceiling(unixMicroseconds: epochMicros + 1_500) == 2 << 22)
        #expect(Snowflake.ceiling(unixMicroseconds: epochMicros + 2_000) == 2 << 22)
        #expect(Snowflake.floor(unixMicroseconds: epochMicros - 5) == 0)
    }
}

@Suite struct PartitionerTests {
    /// Expected values computed independently with C#'s int32/int16 semantics (see the reference's `FnvHash`).
    @Test(arguments: [
        (Int64(1), Int32(-626_933_180), 8),
        (2, -626_933_177, 5),
        (3, -626_933_178, 6),
        (12, -626_933_175, 3),
        (1000, -626_933_331, 3),
        (123_456_789, -1_924_667_271, 3),
        (1_099_511_627_783, 814_291_778, 2),
        (Int64.max, -553_240_343, 11),
        (-1, -1_810_646_807, 11),
    ])
    func sameHashAndPartitionAsTheReference(userID: Int64, hash: Int32, partitionOf12: Int) {
        #expect(UserPartitioner.hash(userID) == hash)
        #expect(UserPartitioner.partition(of: userID, partitionCount: 12) == partitionOf12)
    }

    @Test func spreadsAcrossPartitions() {
        var counts = [Int](repeating: 0, count: 12)
        for id in Int64(1)...12_000 { counts[UserPartitioner.partition(of: id, partitionCount: 12)] += 1 }
        #expect(counts.allSatisfy { $0 > 0 })
    }
}

@Suite struct ChatIDTests {
    @Test func orderIndependent() {
        #expect(ChatID(5, 3).description == "3-5")
        #expect(ChatID(3, 5) == ChatID(5, 3))
        #expect(ChatID(parsing: "3-5") == ChatID(3, 5))
        #expect(ChatID(parsing: "3-x") == nil)
        #expect(ChatID(parsing: "0-5") == nil)
        #expect(ChatID(3, 5).otherUser(than: 3) == 5)
        #expect(ChatID(3, 5).contains(5) && !ChatID(3, 5).contains(4))
    }
}

@Suite struct ChatTimestampTests {
    @Test func roundTripsWithMicroseconds() throws {
        let t = ChatTimestamp(microseconds: 1_764_374_084_123_456)
        #expect(t.description == "2025-11-28T23:54:44.123456Z")
        #expect(ChatTimestamp(parsing: t.description) == t)
    }

    @Test(arguments: [
        ("2021-01-01T00:00:00Z", Int64(1_609_459_200_000_000)),
        ("2021-01-01T00:00:00", 1_609_459_200_000_000),
        ("2021-01-01T02:00:00+02:00", 1_609_459_200_000_000),
        ("20210101T000000.5Z", 1_609_459_200_500_000),
        ("01/01/2021 00:00:00", 1_609_459_200_000_000),
        ("2024-02-29T12:00:00.1234567Z", 1_709_208_000_123_456),
    ])
    func parsesTheReferenceFormats(text: String, micros: Int64) {
        #expect(ChatTimestamp(parsing: text)?.microseconds == micros)
    }

    @Test(arguments: ["", "2021-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2021-01-01T00:00:00X", "yesterday", "2021-01-01T00:00:00.Z", "2021-01-01T24:00:00Z"])
    func rejectsGarbage(text: String) {
        #expect(ChatTimestamp(parsing: text) == nil)
    }
}
