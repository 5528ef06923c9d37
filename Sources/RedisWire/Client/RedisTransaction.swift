import Synchronization

/// The body's view of a `MULTI`/`EXEC` transaction (see ``RedisClient/transaction(watching:_:)``).
///
/// Commands sent through it as a ``RedisCommandExecutor`` run immediately (reads of watched
/// keys, before `MULTI`); ``queue(_:)`` collects the commands `EXEC` runs atomically.
public final class RedisTransaction: RedisCommandExecutor, Sendable {
    let connection: RedisConnection
    private let queued = Mutex<[RedisCommand]>([])

    init(connection: RedisConnection) {
        self.connection = connection
    }

    /// Runs a command now, outside the transaction block (use for reads of watched keys).
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await connection.send(command)
    }

    /// Adds a command to the transaction.
    public func queue(_ command: RedisCommand) {
        queued.withLock { $0.append(command) }
    }

    /// Adds a command given by name and arguments to the transaction.
    public func queue(_ name: String, _ arguments: RedisArgument...) {
        queue(RedisCommand(name, arguments))
    }

    static func run(on connection: RedisConnection, watching keys: [String],
                    _ body: (RedisTransaction) async throws -> Void,
                    afterExec: ([RedisCommand]) -> Void = { _ in }) async throws -> [Result<RESPValue, RedisServerError>] {
        if !keys.isEmpty {
            _ = try await connection.send(RedisCommand("WATCH", keys.map { .string($0) }, keyIndices: Array(keys.indices)))
        }
        let transaction = RedisTransaction(connection: connection)
        do {
            try await body(transaction)
        } catch {
            if !keys.isEmpty { _ = try? await connection.send(RedisCommand("UNWATCH")) }
            throw error
        }
        let commands = transaction.queued.withLock { $0 }
        defer { afterExec(commands) }
        let replies = try await connection.pipeline([RedisCommand("MULTI")] + commands + [RedisCommand("EXEC")])
        let exec = replies[replies.count - 1]
        if exec.isError {
            // EXECABORT: a command was rejected while queueing; report the first rejection.
            let firstRejected = replies.dropFirst().dropLast().first(where: \.isError)
            throw RedisServerError(message: errorText(firstRejected ?? exec))
        }
        switch exec.withoutAttributes {
        case .null:
            throw RedisClientError.transactionAborted
        case .array(let results):
            return results.map(RedisClient.result)
        default:
            throw RedisConnectionError.protocolViolation("EXEC replied \(exec)")
        }
    }
}
