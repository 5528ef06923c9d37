import Logging

/// Transaction isolation levels.
public enum PostgresIsolationLevel: String, Sendable, Hashable {
    /// READ UNCOMMITTED (behaves as READ COMMITTED in PostgreSQL).
    case readUncommitted = "READ UNCOMMITTED"
    /// READ COMMITTED.
    case readCommitted = "READ COMMITTED"
    /// REPEATABLE READ.
    case repeatableRead = "REPEATABLE READ"
    /// SERIALIZABLE.
    case serializable = "SERIALIZABLE"
}

/// Options of `BEGIN`.
public struct PostgresTransactionOptions: Sendable, Hashable {
    /// Isolation level (server default when nil).
    public var isolationLevel: PostgresIsolationLevel?
    /// READ ONLY.
    public var readOnly: Bool
    /// DEFERRABLE (only meaningful with SERIALIZABLE READ ONLY).
    public var deferrable: Bool

    /// Creates options.
    public init(isolationLevel: PostgresIsolationLevel? = nil, readOnly: Bool = false, deferrable: Bool = false) {
        self.isolationLevel = isolationLevel
        self.readOnly = readOnly
        self.deferrable = deferrable
    }

    var beginSQL: String {
        var sql = "BEGIN"
        if let isolationLevel { sql += " ISOLATION LEVEL \(isolationLevel.rawValue)" }
        if readOnly { sql += " READ ONLY" }
        if deferrable { sql += " DEFERRABLE" }
        return sql
    }
}

extension PostgresConnection {
    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    ///
    /// If the connection is lost, the server rolls the transaction back by itself and the error
    /// is rethrown (``PostgresError/connectionClosed(_:)``). If `COMMIT` itself cannot be confirmed
    /// because the connection dropped, the outcome is unknown and that error is thrown.
    /// If a statement failed and the error was caught inside `body`, COMMIT turns into ROLLBACK and
    /// ``PostgresError/transactionRolledBack`` is thrown.
    public func withTransaction<T: Sendable>(
        _ options: PostgresTransactionOptions = PostgresTransactionOptions(),
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        _ = try await simpleQuery(options.beginSQL)
        let value: T
        do {
            value = try await body(self)
        } catch {
            if isUsable { _ = try? await simpleQuery("ROLLBACK") }
            throw error
        }
        let result = try await simpleQuery("COMMIT")
        if result.first?.commandTag == "ROLLBACK" { throw PostgresError.transactionRolledBack }
        return value
    }

    /// Runs `body` inside a savepoint (must be inside a transaction): releases it on success,
    /// rolls back to it on error (the outer transaction stays usable) and rethrows.
    public func withSavepoint<T: Sendable>(_ name: String = "pgwire_sp", _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let quoted = quoteIdentifier(name)
        _ = try await simpleQuery("SAVEPOINT \(quoted)")
        do {
            let value = try await body(self)
            _ = try await simpleQuery("RELEASE SAVEPOINT \(quoted)")
            return value
        } catch {
            if isUsable { _ = try? await simpleQuery("ROLLBACK TO SAVEPOINT \(quoted)") }
            throw error
        }
    }
}
