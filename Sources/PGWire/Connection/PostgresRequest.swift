import NIOCore

/// A request in flight on one connection. All methods run on the channel's event loop.
protocol PostgresRequest: AnyObject {
    /// Exclusive requests (COPY, cursors) are sent only when nothing else is in flight, and block
    /// later requests until they complete.
    var isExclusive: Bool { get }
    /// Writes the request's messages. Throws to fail the request before anything is sent.
    func encode(into buffer: inout ByteBuffer, cache: inout StatementCache) throws(PostgresError)
    /// Handles a response event; returns messages to send in reaction (cursor Execute, Sync).
    func receive(_ event: QueryEvent, cache: inout StatementCache) -> [FrontendMessage]
    /// Hands buffered rows to the consumer (called at the end of each read burst).
    func flushRows()
    /// ReadyForQuery arrived: the request is done.
    func complete(_ status: TransactionStatus)
    /// The request failed without completing (connection lost, protocol violation, encode error).
    func fail(_ error: PostgresError)
}

/// The automatic prepared-statement cache of one connection (LRU). Event-loop confined.
struct StatementCache {
    struct Entry {
        var name: String
        var columns: PostgresColumns?
        var lastUse: UInt64
        var parsed: Bool
    }

    let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var clock: UInt64 = 0
    private var counter = 0
    /// Statement names evicted but not yet closed on the server.
    var pendingCloses: [String] = []

    init(capacity: Int) { self.capacity = capacity }

    var isEnabled: Bool { capacity > 0 }
    var count: Int { entries.count }

    /// A cache key: the SQL text and the declared parameter types (no string building per query).
    struct Key: Hashable {
        var sql: String
        var types: [PostgresDataType]
    }

    static func key(sql: String, types: [PostgresDataType]) -> Key {
        Key(sql: sql, types: types)
    }

    /// The entry found last (its key and position): a statement run again and again is found by
    /// comparing, without hashing its SQL. Cleared by every change to `entries`' keys.
    private var recent: (key: Key, index: [Key: Entry].Index)?

    /// Looks up (and touches) an entry; hashes the key at most once.
    mutating func lookup(_ key: Key) -> Entry? {
        let i: [Key: Entry].Index
        if let recent, recent.key == key {
            i = recent.index
        } else {
            guard let found = entries.index(forKey: key) else { return nil }
            i = found
            recent = (key, found)
        }
        clock &+= 1
        entries.values[i].lastUse = clock
        return entries.values[i]
    }

    /// Inserts a new entry, evicting the least recently used one when full.
    mutating func insert(_ key: Key) -> String {
        recent = nil
        if entries.count >= capacity, let victim = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            entries[victim.key] = nil
            pendingCloses.append(victim.value.name)
        }
        counter += 1
        clock &+= 1
        let name = "pgwire_s\(counter)"
        entries[key] = Entry(name: name, columns: nil, lastUse: clock, parsed: false)
        return name
    }

    mutating func setColumns(_ key: Key, _ columns: PostgresColumns) {
        guard let i = entries.index(forKey: key) else { return }
        entries.values[i].columns = columns
    }

    /// Forgets an entry whose Parse failed (nothing to close on the server).
    mutating func remove(_ key: Key) {
        recent = nil
        entries[key] = nil
    }

    /// Forgets everything (after `DISCARD ALL` or a failed transaction that dropped statements).
    mutating func removeAll() {
        recent = nil
        entries.removeAll()
    }
}
