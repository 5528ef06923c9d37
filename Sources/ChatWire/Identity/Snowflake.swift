import Synchronization

/// Snowflake message IDs as the reference system lays them out.
///
/// Bit layout (most significant first): 1 unused sign bit, 41 bits of milliseconds since
/// ``Snowflake/epochMilliseconds`` (2021-01-01T00:00:00Z), 8 generator bits, 14 sequence bits.
/// Snowflakes of later milliseconds always compare greater, so history can be paged by ID.
public enum Snowflake {
    /// Unix milliseconds of the snowflake epoch, 2021-01-01T00:00:00Z.
    public static let epochMilliseconds: Int64 = 1_609_459_200_000
    /// Bits used by the sequence within one millisecond.
    public static let sequenceBits = 14
    /// Bits used by the generator ID.
    public static let generatorBits = 8
    /// How far the timestamp is shifted left: generator bits plus sequence bits.
    public static let timestampShift = sequenceBits + generatorBits
    /// The largest sequence value within one millisecond.
    public static let maxSequence: Int64 = (1 << sequenceBits) - 1
    /// The largest generator ID.
    public static let maxGenerator: Int = (1 << generatorBits) - 1

    /// The Unix milliseconds at which `snowflake` was generated.
    public static func unixMilliseconds(of snowflake: Int64) -> Int64 {
        (snowflake >> Int64(timestampShift)) + epochMilliseconds
    }

    /// The generator ID encoded in `snowflake`.
    public static func generator(of snowflake: Int64) -> Int {
        Int((snowflake >> Int64(sequenceBits)) & Int64(maxGenerator))
    }

    /// The smallest snowflake of the millisecond containing `unixMicroseconds` (the reference's `ToSnowflakeFloor`).
    public static func floor(unixMicroseconds: Int64) -> Int64 {
        let sinceEpoch = unixMicroseconds - epochMilliseconds * 1000
        let ms = sinceEpoch >= 0 ? sinceEpoch / 1000 : (sinceEpoch - 999) / 1000
        return max(0, ms) << Int64(timestampShift)
    }

    /// The smallest snowflake of the first whole millisecond at or after `unixMicroseconds`
    /// (the reference's `ToSnowflakeCeiling`).
    public static func ceiling(unixMicroseconds: Int64) -> Int64 {
        let sinceEpoch = unixMicroseconds - epochMilliseconds * 1000
        var ms = sinceEpoch >= 0 ? sinceEpoch / 1000 : (sinceEpoch - 999) / 1000
        if sinceEpoch - ms * 1000 > 0 { ms += 1 }
        return max(0, ms) << Int64(timestampShift)
    }
}

/// A thread-safe snowflake generator for one generator ID.
///
/// IDs are unique and strictly increasing per generator, including when many tasks call
/// ``next()`` at once and when the wall clock steps backwards: the generator keeps a logical
/// millisecond that never goes back, and when a millisecond's 16,384 sequence values are used up
/// it moves on to the next millisecond instead of repeating an ID.
public final class SnowflakeGenerator: Sendable {
    private struct State {
        var lastMilliseconds: Int64 = -1
        var sequence: Int64 = 0
    }

    /// The generator ID (0...255) encoded in every ID.
    public let generatorID: Int
    private let state = Mutex(State())
    private let clock: @Sendable () -> Int64

    /// Creates a generator.
    /// - Parameters:
    ///   - generatorID: 0...255.
    ///   - clock: current Unix milliseconds; injectable for tests.
    public init(generatorID: Int, clock: @escaping @Sendable () -> Int64 = SnowflakeGenerator.systemMilliseconds) {
        precondition((0...Snowflake.maxGenerator).contains(generatorID), "snowflake generator ID must be 0...255")
        self.generatorID = generatorID
        self.clock = clock
    }

    /// The next ID.
    public func next() -> Int64 {
        let now = clock() - Snowflake.epochMilliseconds
        let (ms, sequence): (Int64, Int64) = state.withLock { state in
            if now > state.lastMilliseconds {
                state.lastMilliseconds = now
                state.sequence = 0
            } else if state.sequence < Snowflake.maxSequence {
                state.sequence += 1
            } else {
                state.lastMilliseconds += 1
                state.sequence = 0
            }
            return (state.lastMilliseconds, state.sequence)
        }
        return (ms << Int64(Snowflake.timestampShift))
            | (Int64(generatorID) << Int64(Snowflake.sequenceBits))
            | sequence
    }

    /// Unix milliseconds from the system clock.
    @Sendable public static func systemMilliseconds() -> Int64 {
        ChatTimestamp.now().microseconds / 1000
    }
}
