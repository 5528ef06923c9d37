/// Allocates stream ids for requests in flight on one connection (0 ..< 32768; negative ids
/// belong to server events). Ids are reused last-in-first-out so the hot set stays small.
public struct CQLStreamIDPool: Sendable {
    /// The number of ids available on a v3+ connection.
    public static let capacity = 32768

    private var free: [Int16]
    private var inUse: [Bool]

    /// Creates a pool of `capacity` ids (tests may use fewer).
    public init(capacity: Int = CQLStreamIDPool.capacity) {
        precondition(capacity > 0 && capacity <= CQLStreamIDPool.capacity)
        self.free = (0..<capacity).reversed().map { Int16($0) }
        self.inUse = [Bool](repeating: false, count: capacity)
    }

    /// Number of ids currently allocated.
    public var inFlight: Int { self.inUse.count - self.free.count }

    /// Takes a free id, or nil when all are in flight.
    public mutating func acquire() -> Int16? {
        guard let id = self.free.popLast() else { return nil }
        self.inUse[Int(id)] = true
        return id
    }

    /// Returns an id; false when it was not in flight (a response for an unknown stream).
    @discardableResult
    public mutating func release(_ id: Int16) -> Bool {
        guard id >= 0, Int(id) < self.inUse.count, self.inUse[Int(id)] else { return false }
        self.inUse[Int(id)] = false
        self.free.append(id)
        return true
    }

    public func isInFlight(_ id: Int16) -> Bool {
        id >= 0 && Int(id) < self.inUse.count && self.inUse[Int(id)]
    }
}
