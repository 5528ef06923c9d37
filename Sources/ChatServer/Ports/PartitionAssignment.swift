import ChatWire

/// The partitions of the messages topic one messaging instance owns, out of `partitionCount`.
///
/// Built from the dynamic config's `partitioning` section: `partitioning.count` and
/// `partitioning.partitions` (`server=lo-hi;server=lo-hi;...`, the reference's one contiguous
/// range per server; several ranges for one server are accepted too).
public struct PartitionAssignment: Sendable, Hashable, CustomStringConvertible {
    /// The number of partitions publishers hash users into.
    public var partitionCount: Int
    /// The partitions this instance owns (each in `0..<partitionCount`).
    public var owned: Set<Int>

    /// An assignment of `owned` out of `partitionCount`.
    public init(partitionCount: Int, owned: Set<Int>) {
        self.partitionCount = partitionCount
        self.owned = owned.filter { (0..<partitionCount).contains($0) }
    }

    /// Every partition owned (a single instance).
    public static func all(_ partitionCount: Int) -> PartitionAssignment {
        PartitionAssignment(partitionCount: partitionCount, owned: Set(0..<partitionCount))
    }

    /// The partitions `serverID` owns according to `values`.
    public init(serverID: String, values: DynamicConfig.Values) {
        var owned = Set<Int>()
        for (server, range) in Self.ranges(values.partitions) where server == serverID { owned.formUnion(range) }
        self.init(partitionCount: values.partitionCount, owned: owned)
    }

    /// `true` if `partition` is owned.
    public func owns(partition: Int) -> Bool { owned.contains(partition) }

    /// `true` if the partition of `userID` is owned.
    public func owns(user userID: Int64) -> Bool {
        owned.contains(UserPartitioner.partition(of: userID, partitionCount: partitionCount))
    }

    /// `count=N owned=lo-hi,...`
    public var description: String {
        var parts: [String] = []
        var run: (Int, Int)?
        for p in owned.sorted() {
            if let (lo, hi) = run, hi + 1 == p { run = (lo, p); continue }
            if let (lo, hi) = run { parts.append(lo == hi ? "\(lo)" : "\(lo)-\(hi)") }
            run = (p, p)
        }
        if let (lo, hi) = run { parts.append(lo == hi ? "\(lo)" : "\(lo)-\(hi)") }
        return "count=\(partitionCount) owned=\(parts.isEmpty ? "none" : parts.joined(separator: ","))"
    }

    /// The server owning `partition` according to `partitions` (`server=lo-hi;...`), if any.
    public static func owner(of partition: Int, in partitions: String) -> String? {
        ranges(partitions).first { $0.1.contains(partition) }?.0
    }

    /// Parses `server=lo-hi;...`; malformed pairs are skipped (``DynamicConfig`` validates them).
    static func ranges(_ text: String) -> [(String, ClosedRange<Int>)] {
        text.split(separator: ";").compactMap { pair in
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { return nil }
            let bounds = kv[1].split(separator: "-")
            guard bounds.count == 2, let lo = Int(bounds[0]), let hi = Int(bounds[1]), lo <= hi else { return nil }
            return (String(kv[0]), lo...hi)
        }
    }
}
