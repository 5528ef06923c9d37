import NIOConcurrencyHelpers
import NIOCore

/// Holds the command tag once the query finishes.
final class CommandTagBox: Sendable {
    private let value = NIOLockedValueBox<String?>(nil)
    func set(_ tag: String?) { value.withLockedValue { $0 = tag } }
    var tag: String? { value.withLockedValue { $0 } }
}

/// The rows of a query as an `AsyncSequence` with back-pressure: the connection stops reading
/// from the socket while the consumer is behind.
///
/// Iterate it once. Stopping early (breaking out, or cancelling the task) cancels the query on the
/// server and drains the rest, leaving the connection usable.
public struct PostgresRowSequence: AsyncSequence, Sendable {
    public typealias Element = PostgresRow

    enum Base: Sendable {
        case producer(RowProducer)
        case empty
    }

    let base: Base
    /// The result's columns.
    public let columns: PostgresColumns
    let tag: CommandTagBox

    init(base: RowProducer, columns: PostgresColumns, tag: CommandTagBox) {
        self.base = .producer(base)
        self.columns = columns
        self.tag = tag
    }

    init(empty columns: PostgresColumns, tag: CommandTagBox) {
        self.base = .empty
        self.columns = columns
        self.tag = tag
    }

    /// The command tag (`SELECT 3`, `UPDATE 2`), available after the sequence finished.
    public var commandTag: String? { tag.tag }

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: RowProducer.AsyncIterator?
        var batch: [PostgresRow] = []
        var index = 0

        init(base: RowProducer.AsyncIterator?) { self.base = base }

        /// The next row, `nil` at the end.
        public mutating func next() async throws -> PostgresRow? {
            if index < batch.count {
                defer { index += 1 }
                return batch[index]
            }
            return try await nextBatch()
        }

        mutating func nextBatch() async throws -> PostgresRow? {
            guard base != nil else { return nil }
            batch = []
            index = 0
            while let rows = try await base!.next() {
                if rows.isEmpty { continue }
                batch = rows
                index = 1
                return rows[0]
            }
            base = nil
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch base {
        case .producer(let p): return AsyncIterator(base: p.makeAsyncIterator())
        case .empty: return AsyncIterator(base: nil)
        }
    }

    /// Collects all rows.
    public func collect() async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in self { rows.append(row) }
        return rows
    }

    /// Decodes each row as a tuple: `for try await (id, name) in rows.decode((Int64, String).self)`.
    public func decode<each T: PostgresDecodable>(_ types: (repeat each T).Type) -> AsyncThrowingMapSequence<Self, (repeat each T)> {
        self.map { try $0.decode(types) }
    }

    /// Decodes each row into a `Decodable` type by column name.
    public func decode<T: Decodable & SendableMetatype>(byName type: T.Type) -> AsyncThrowingMapSequence<Self, T> {
        self.map { try $0.decode(byName: type) }
    }
}
