import Logging
import Synchronization
import NIOCore
import WireCore

extension CassandraSession {
    // MARK: public API

    /// Runs a statement as an unprepared QUERY (DDL, one-off statements). Interpolated values are
    /// bound with their natural types. Returns the first page.
    @discardableResult
    public func query(_ query: CQLQuery, options: CQLStatementOptions = .default) async throws -> CQLQueryResult {
        try await self.query(query.text, query.values, options: options)
    }

    /// Runs a statement as an unprepared QUERY with positional values.
    @discardableResult
    public func query(_ text: String, _ values: [CQLValue], options: CQLStatementOptions = .default) async throws -> CQLQueryResult {
        if let op = traced(text, options) { return try await op.run { try await self.query(text, values, options: options) } }
        try await self.ensureBootstrapped()
        let bound = try serializeUnprepared(values)
        let result = try await self.run(options: options, routingKey: nil) { connection, consistency in
            let parameters = self.parameters(options, consistency: consistency, values: .positional(bound), version: connection.version)
            return try CQLQueryResult.from(try await connection.send(CQLQueryRequest(query: text, parameters: parameters),
                                                                     tracing: options.tracing, customPayload: options.customPayload))
        }
        if let keyspace = result.keyspace { try await self.didUse(keyspace: keyspace) }
        return result
    }

    /// Prepares (once per query text and keyspace, cached) and executes a statement. Returns the first page.
    @discardableResult
    public func execute(_ query: CQLQuery, options: CQLStatementOptions = .default) async throws -> CQLQueryResult {
        if let op = traced(query.text, options) { return try await op.run { try await self.execute(query, options: options) } }
        let prepared = try await self.prepare(query.text, keyspace: options.keyspace)
        return try await self.execute(prepared, query.values, options: options)
    }

    /// Executes a prepared statement with positional values (converted to the bind markers' types).
    @discardableResult
    public func execute(_ prepared: CQLPreparedStatement, _ values: [CQLValue], options: CQLStatementOptions = .default) async throws -> CQLQueryResult {
        if let op = traced(prepared.query, keyspace: prepared.keyspace, options) { return try await op.run { try await self.execute(prepared, values, options: options) } }
        try await self.ensureBootstrapped()
        let bound = try prepared.bind(values)
        let routingKey = prepared.routingKey(bound)
        return try await self.run(options: options, routingKey: routingKey) { connection, consistency in
            try await self.executeOnConnection(prepared, bound: bound, options: options, consistency: consistency, connection: connection)
        }
    }

    /// Executes a prepared statement binding an `Encodable` value's properties by bind-marker name.
    @discardableResult
    public func execute<T: Encodable>(_ prepared: CQLPreparedStatement, binding value: T, options: CQLStatementOptions = .default) async throws -> CQLQueryResult {
        guard case .udt(let fields) = try CQLValueEncoder.encode(value) else {
            throw CQLTypeError.typeMismatch(expected: "a keyed Encodable", found: "\(T.self)", context: "binding")
        }
        let values = prepared.bindMetadata.columns.map { column in fields.first { $0.name == column.name }?.value ?? .null }
        return try await self.execute(prepared, values, options: options)
    }

    /// All rows of a prepared statement as an `AsyncSequence`, fetching pages as iteration proceeds.
    public func rows(_ query: CQLQuery, options: CQLStatementOptions = .default) -> CQLRowSequence {
        CQLRowSequence { pagingState in
            var options = options
            if let pagingState { options.pagingState = pagingState }
            return try await self.execute(query, options: options)
        }
    }

    /// Prepares a statement, or returns the cached one for this query text and keyspace.
    public func prepare(_ query: String, keyspace: String? = nil) async throws -> CQLPreparedStatement {
        try await self.ensureBootstrapped()
        let keyspace = keyspace ?? self.keyspace
        let key = query + "\u{0}" + (keyspace ?? "")
        let task: Task<CQLPreparedStatement, any Error> = self.preparedCache.withLock { cache in
            if let task = cache[key] { return task }
            let task = Task {
                try await self.run(options: CQLStatementOptions(isIdempotent: true), routingKey: nil) { connection, _ in
                    try await self.prepareOnConnection(query, keyspace: keyspace, connection: connection)
                }
            }
            cache[key] = task
            return task
        }
        do {
            return try await task.value
        } catch {
            self.preparedCache.withLock { cache in if cache[key] == task { cache.removeValue(forKey: key) } }
            throw error
        }
    }

    /// Runs a BATCH (logged by default) of prepared and/or unprepared statements.
    @discardableResult
    public func batch(_ statements: [CQLBatchStatement], type: CQLBatchType = .logged,
                      options: CQLStatementOptions = .default) async throws -> CQLQueryResult {
        if let op = traced(batch: statements, options) { return try await op.run { try await self.batch(statements, type: type, options: options) } }
        try await self.ensureBootstrapped()
        var entries: [(CQLPreparedStatement?, String, [CQLBoundValue])] = []
        for statement in statements {
            if statement.prepared {
                let prepared = try await self.prepare(statement.query, keyspace: options.keyspace)
                entries.append((prepared, statement.query, try prepared.bind(statement.values)))
            } else {
                entries.append((nil, statement.query, try serializeUnprepared(statement.values)))
            }
        }
        let routingKey = entries.first.flatMap { $0.0?.routingKey($0.2) }
        let batchEntries = entries
        return try await self.run(options: options, routingKey: routingKey) { connection, consistency in
            var reprepared = false
            while true {
                let request = CQLBatchRequest(
                    type: type,
                    statements: batchEntries.map { entry in
                        entry.0.map { .prepared(id: $0.id, values: entry.2) } ?? .query(entry.1, values: entry.2)
                    },
                    consistency: consistency, serialConsistency: options.serialConsistency, defaultTimestamp: options.timestamp,
                    keyspace: connection.version >= .v5 ? options.keyspace : nil,
                    nowInSeconds: connection.version >= .v5 ? options.nowInSeconds : nil)
                let frame = try await connection.sendRaw(request, tracing: options.tracing, customPayload: options.customPayload)
                if case .error(let error) = frame.message, case .unprepared(let id) = error.kind, !reprepared {
                    reprepared = true
                    for entry in batchEntries where entry.0?.id == id {
                        _ = try await self.prepareOnConnection(entry.1, keyspace: entry.0?.keyspace, connection: connection)
                    }
                    continue
                }
                return try CQLQueryResult.from(frame)
            }
        }
    }

    // MARK: internals

    func parameters(_ options: CQLStatementOptions, consistency: CQLConsistency, values: CQLBoundValues,
                    version: CQLProtocolVersion, skipMetadata: Bool = false) -> CQLQueryParameters {
        CQLQueryParameters(consistency: consistency, values: values, skipMetadata: skipMetadata,
                           pageSize: options.pageSize ?? self.configuration.defaultPageSize, pagingState: options.pagingState,
                           serialConsistency: options.serialConsistency, defaultTimestamp: options.timestamp,
                           keyspace: version >= .v5 ? options.keyspace : nil,
                           nowInSeconds: version >= .v5 ? options.nowInSeconds : nil)
    }

    func prepareOnConnection(_ query: String, keyspace: String?, connection: CQLConnection) async throws -> CQLPreparedStatement {
        // v5 prepares in the given keyspace; v4 relies on the connection's USE keyspace
        let frame = try await connection.send(CQLPrepareRequest(query: query, keyspace: connection.version >= .v5 ? keyspace : nil))
        guard case .result(.prepared(let result)) = frame.message else {
            throw CQLConnectionError.protocolViolation("PREPARE answered with \(frame.message)")
        }
        return CQLPreparedStatement(query: query, keyspace: keyspace, result: result)
    }

    func executeOnConnection(_ prepared: CQLPreparedStatement, bound: [CQLBoundValue], options: CQLStatementOptions,
                             consistency: CQLConsistency, connection: CQLConnection) async throws -> CQLQueryResult {
        // skip_metadata is only safe on v5, where the result metadata id detects schema changes
        let useSkip = connection.version >= .v5 && prepared.resultMetadata.columns != nil
        var id = prepared.id
        var reprepared = false
        while true {
            let parameters = self.parameters(options, consistency: consistency, values: .positional(bound),
                                             version: connection.version, skipMetadata: useSkip)
            let request = CQLExecuteRequest(id: id, resultMetadataID: prepared.resultMetadataID, parameters: parameters)
            let frame = try await connection.sendRaw(request, tracing: options.tracing, customPayload: options.customPayload,
                                                     knownMetadata: useSkip ? prepared.resultMetadata : nil)
            if case .error(let error) = frame.message, case .unprepared = error.kind, !reprepared {
                // this host lost (or never had) the statement: prepare it here and retry once
                reprepared = true
                let fresh = try await self.prepareOnConnection(prepared.query, keyspace: prepared.keyspace, connection: connection)
                id = fresh.id
                if let newID = fresh.resultMetadataID { prepared.updateResultMetadata(id: newID, metadata: fresh.resultMetadata) }
                continue
            }
            if case .result(.rows(let rows)) = frame.message, let newID = rows.metadata.newMetadataID, rows.metadata.columns != nil {
                var metadata = rows.metadata
                metadata.pagingState = nil
                metadata.newMetadataID = nil
                prepared.updateResultMetadata(id: newID, metadata: metadata)
            }
            return try CQLQueryResult.from(frame)
        }
    }

    /// A `USE` succeeded: the session's keyspace changes; every other connection switches with
    /// its own `USE` the next time it runs a request (see ``attempt``).
    private func didUse(keyspace: String) async throws {
        self.state.withLock { $0.keyspace = keyspace }
    }

    /// Runs `body` against hosts of the query plan with the retry policy, speculative executions
    /// (idempotent statements only) and the request timeout.
    func run<T: Sendable>(options: CQLStatementOptions, routingKey: [UInt8]?,
                          _ body: @escaping @Sendable (CQLConnection, CQLConsistency) async throws -> T) async throws -> T {
        let timeout = options.timeout ?? self.configuration.requestTimeout
        let plan = self.queryPlan(routingKey: routingKey)
        guard !plan.isEmpty else { throw CQLConnectionError.noHostAvailable([:]) }
        let consistency = options.consistency ?? self.configuration.defaultConsistency
        let speculative = self.configuration.speculativeExecution
        let deadline = Deadline.after(timeout)
        // every send of this request (retries, re-prepares, USE) is bounded by the deadline through
        // an event-loop timer; only speculative runs, which race timers anyway, use a task group
        return try await CQLConnection.$requestDeadline.withValue(deadline) {
            if options.isIdempotent, speculative.maxExecutions > 0, plan.count > 1 {
                do {
                    return try await withDeadline(deadline) {
                        try await self.runSpeculatively(plan: plan, policy: speculative, consistency: consistency,
                                                        isIdempotent: true, body)
                    }
                } catch is DeadlineExceededError {
                    throw CQLConnectionError.timedOut
                }
            }
            return try await self.attempt(plan: plan, consistency: consistency, isIdempotent: options.isIdempotent,
                                          deadline: deadline, body)
        }
    }

    /// Starts the request on the plan's first host and, each time `policy.delay` passes without
    /// an answer, another execution on the next host (up to `policy.maxExecutions` more). The
    /// first answer wins and the other executions are cancelled. An execution that fails has
    /// already been through the retry policy; the request fails once no execution is left running.
    private func runSpeculatively<T: Sendable>(plan: [CQLHost], policy: CQLSpeculativeExecutionPolicy, consistency: CQLConsistency,
                                               isIdempotent: Bool,
                                               _ body: @escaping @Sendable (CQLConnection, CQLConsistency) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: SpeculativeOutcome<T>.self) { group in
            let executions = min(policy.maxExecutions + 1, plan.count)
            var started = 0
            var running = 0
            func start() {
                // execution k starts at the plan's k-th host and fails over along the rest of the plan
                let rotated = Array(plan[started...] + plan[..<started])
                group.addTask {
                    do {
                        return .answer(try await self.attempt(plan: rotated, consistency: consistency, isIdempotent: isIdempotent,
                                                              deadline: CQLConnection.requestDeadline, body))
                    } catch {
                        return .failed(error)
                    }
                }
                started += 1
                running += 1
                self.speculativeExecutionsStarted(started - 1)
                if started < executions {
                    group.addTask {
                        try await Task.sleep(for: policy.delay)
                        return .delayElapsed
                    }
                }
            }
            start()
            while let outcome = try await group.next() {
                switch outcome {
                case .answer(let value):
                    group.cancelAll()
                    return value
                case .delayElapsed:
                    if started < executions { start() }
                case .failed(let error):
                    running -= 1
                    if running == 0 {
                        group.cancelAll()
                        throw error
                    }
                }
            }
            throw CQLConnectionError.noHostAvailable([:])
        }
    }

    /// Counts speculative executions (execution 0 is the original one).
    private func speculativeExecutionsStarted(_ execution: Int) {
        if execution > 0 { self.speculativeCount.add(1, ordering: .relaxed) }
    }

    private func attempt<T: Sendable>(plan: [CQLHost], consistency: CQLConsistency, isIdempotent: Bool, deadline: Deadline?,
                                      _ body: @escaping @Sendable (CQLConnection, CQLConsistency) async throws -> T) async throws -> T {
        var errors: [String: String] = [:]
        var index = 0
        var retries = 0
        var consistency = consistency
        while index < plan.count {
            try Task.checkCancellation()
            if deadline?.hasExpired == true { throw CQLConnectionError.timedOut }
            let host = plan[index]
            let pool: ConnectionPool<CQLConnection>
            let connection: CQLConnection
            do {
                pool = try self.pool(for: host)
                connection = try await pool.lease(deadline: deadline)
            } catch {
                try Task.checkCancellation()
                if deadline?.hasExpired == true { throw CQLConnectionError.timedOut }
                errors[host.endpoint] = "\(error)"
                index += 1
                continue
            }
            do {
                defer { pool.release(connection) }
                if let keyspace = self.keyspace { try await connection.use(keyspace: keyspace) }
                return try await body(connection, consistency)
            } catch let error as CQLTypeError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch CQLConnectionError.timedOut {
                // the request's deadline passed: the timeout covers every attempt, so no retry
                throw CQLConnectionError.timedOut
            } catch {
                errors[host.endpoint] = "\(error)"
                let decision = self.configuration.retryPolicy.decide(error: error, attempt: retries, isIdempotent: isIdempotent)
                retries += 1
                switch decision {
                case .rethrow: throw error
                case .retrySameHost(let cl):
                    consistency = cl ?? consistency
                case .retryNextHost(let cl):
                    consistency = cl ?? consistency
                    index += 1
                }
                self.logger.debug("retrying CQL request", metadata: ["host": "\(host.endpoint)", "error": "\(error)"])
            }
        }
        throw CQLConnectionError.noHostAvailable(errors)
    }
}

/// What one child of a speculative run reports.
enum SpeculativeOutcome<T: Sendable>: Sendable {
    case answer(T)
    case failed(any Error)
    case delayElapsed
}
