/// Rows of a query as an `AsyncSequence`: pages are fetched as iteration reaches their end.
public struct CQLRowSequence: AsyncSequence, Sendable {
    public typealias Element = CQLRow

    let fetch: @Sendable ([UInt8]?) async throws -> CQLQueryResult

    init(fetch: @escaping @Sendable ([UInt8]?) async throws -> CQLQueryResult) {
        self.fetch = fetch
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(fetch: self.fetch)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let fetch: @Sendable ([UInt8]?) async throws -> CQLQueryResult
        var page: CQLRows?
        var index = 0
        var pagingState: [UInt8]?
        var finished = false

        init(fetch: @escaping @Sendable ([UInt8]?) async throws -> CQLQueryResult) {
            self.fetch = fetch
        }

        public mutating func next() async throws -> CQLRow? {
            while true {
                if let page = self.page, self.index < page.rowCount {
                    defer { self.index += 1 }
                    return page[self.index]
                }
                if self.finished || (self.page != nil && self.pagingState == nil) { return nil }
                let result = try await self.fetch(self.pagingState)
                self.page = result.rows
                self.index = 0
                self.pagingState = result.pagingState
                if result.rows == nil { self.finished = true }
            }
        }
    }

    /// Collects every row of every page.
    public func collect() async throws -> [CQLRow] {
        var rows: [CQLRow] = []
        for try await row in self { rows.append(row) }
        return rows
    }

    /// Decodes every row into `T` by column name, fetching all pages.
    public func decode<T: Decodable & Sendable>(_ type: T.Type) async throws -> [T] {
        var out: [T] = []
        for try await row in self { out.append(try row.decode(as: T.self)) }
        return out
    }
}
