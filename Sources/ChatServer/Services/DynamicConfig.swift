import ChatWire
import Logging
import Synchronization

/// The running server's dynamic config: values read from the ``ConfigStore``, validated, and
/// swapped atomically; listeners are told which section changed.
public final class DynamicConfig: Sendable {
    /// The validated values.
    public struct Values: Sendable, Hashable {
        /// `partitioning.count` (2...10000).
        public var partitionCount = 12
        /// `partitioning.partitions`, e.g. `0=0-11`.
        public var partitions = "0=0-11"
        /// `partitioning.addresses`, e.g. `0=http://127.0.0.1:8080`.
        public var addresses = "0=http://127.0.0.1:8080"
        /// `history.message-count` (16...128): history page size.
        public var historyPageSize = 32
        /// `user.profile-count` (1...128): most IDs per profile batch and most search results.
        public var profileCount = 32
        /// `messaging.max-devices` (1...64): most simultaneous real-time connections per user.
        public var maxDevicesPerUser = 16
    }

    /// The defaults seeded into an empty store.
    public static func defaults(address: String) -> [String: String] {
        [
            "partitioning.count": "12",
            "partitioning.partitions": "0=0-11",
            "partitioning.addresses": "0=\(address)",
            "history.message-count": "32",
            "user.profile-count": "32",
            "messaging.max-devices": "16",
            "snowflake.generator-ids": "0=0",
        ]
    }

    private let state = Mutex(Values())
    private let listeners = Mutex<[@Sendable (String, Values) -> Void]>([])
    private let store: any ConfigStore
    private let logger: Logger

    /// Config backed by `store`.
    public init(store: any ConfigStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// The current values.
    public var values: Values { state.withLock { $0 } }

    /// Calls `listener(section, values)` after every applied change.
    public func onChange(_ listener: @escaping @Sendable (String, Values) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    /// The section of an element name (`history.message-count` → `history`).
    public static func section(of name: String) -> String {
        String(name.prefix { $0 != "." })
    }

    /// Re-reads the store; applies the values only if all are valid.
    @discardableResult
    public func reload(changedSections: Set<String> = []) async throws -> [ValidationFailure] {
        let elements = try await store.elements()
        let (values, failures) = Self.validate(elements)
        guard failures.isEmpty else {
            // Unlike the reference (quirk 9), invalid config is never applied.
            logger.error("dynamic config invalid; keeping the current values", metadata: ["failures": "\(failures)"])
            return failures
        }
        state.withLock { $0 = values }
        for section in changedSections.sorted() {
            logger.info("dynamic config changed", metadata: ["section": "\(section)"])
            for listener in listeners.withLock({ $0 }) { listener(section, values) }
        }
        return []
    }

    /// Validates a full set of elements as it would be after an update.
    public static func validate(_ elements: [ConfigElement]) -> (Values, [ValidationFailure]) {
        var values = Values()
        var failures: [ValidationFailure] = []
        func int(_ name: String, _ range: ClosedRange<Int>, _ apply: (Int) -> Void) {
            guard let element = elements.first(where: { $0.name == name }) else { return }
            if let v = Int(element.value), range.contains(v) { apply(v) } else {
                failures.append(.init(name, "must be an integer in \(range.lowerBound)...\(range.upperBound)"))
            }
        }
        int("partitioning.count", 2...10_000) { values.partitionCount = $0 }
        int("history.message-count", 16...128) { values.historyPageSize = $0 }
        int("user.profile-count", 1...128) { values.profileCount = $0 }
        int("messaging.max-devices", 1...64) { values.maxDevicesPerUser = $0 }
        if let partitions = elements.first(where: { $0.name == "partitioning.partitions" })?.value {
            values.partitions = partitions
            if let reason = validatePartitions(partitions, count: values.partitionCount) { failures.append(.init("partitioning.partitions", reason)) }
        }
        if let addresses = elements.first(where: { $0.name == "partitioning.addresses" })?.value {
            values.addresses = addresses
            for pair in addresses.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count != 2 || !(kv[1].hasPrefix("http://") || kv[1].hasPrefix("https://")) {
                    failures.append(.init("partitioning.addresses", "must be server=absoluteUrl;..."))
                }
            }
        }
        for element in elements {
            let parts = element.name.split(separator: ".", maxSplits: 1)
            let sectionOK = parts.count == 2 && (2...16).contains(parts[0].count) && parts[0].allSatisfy { $0.isLowercase || $0 == "-" }
            let restOK = parts.count == 2 && (2...128).contains(parts[1].count) && parts[1].allSatisfy { $0.isLowercase || $0 == "-" || $0 == "." }
            if !(sectionOK && restOK) { failures.append(.init(element.name, "name must match ^[a-z\\-]{2,16}\\.[a-z\\-\\.]{2,128}$")) }
        }
        return (values, failures)
    }

    /// Every partition 0..<count assigned to exactly one server, ranges `lo-hi`.
    static func validatePartitions(_ text: String, count: Int) -> String? {
        var seen = [Bool](repeating: false, count: count)
        for pair in text.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, !kv[0].isEmpty else { return "must be server=lo-hi;..." }
            let range = kv[1].split(separator: "-")
            guard range.count == 2, let lo = Int(range[0]), let hi = Int(range[1]), lo <= hi, lo >= 0, hi < count else {
                return "ranges must be lo-hi within 0...\(count - 1)"
            }
            for p in lo...hi {
                if seen[p] { return "partition \(p) is assigned twice" }
                seen[p] = true
            }
        }
        return seen.allSatisfy { $0 } ? nil : "every partition 0...\(count - 1) must be assigned"
    }

    /// The messaging server address for a user (the owner of the user's partition).
    public func messagingAddress(for userID: Int64) -> String {
        let v = values
        let partition = UserPartitioner.partition(of: userID, partitionCount: v.partitionCount)
        var server: Substring = "0"
        for pair in v.partitions.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            let range = kv.count == 2 ? kv[1].split(separator: "-") : []
            if range.count == 2, let lo = Int(range[0]), let hi = Int(range[1]), (lo...hi).contains(partition) { server = kv[0] }
        }
        for pair in v.addresses.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0] == server { return String(kv[1]) }
        }
        return ""
    }
}
