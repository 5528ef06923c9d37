import Atomics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import WireCore

/// One PostgreSQL connection.
///
/// Requests from concurrent tasks are pipelined: each is written immediately (extended queries
/// each carry their own `Sync`, so an error in one does not affect the others) and responses are
/// matched in order. COPY and cursor reads take the connection exclusively while they run.
///
/// The query methods are `nonisolated(nonsending)`: they run on the caller's executor instead of
/// hopping to Swift's global pool and back. Called from an actor, a query is written from the
/// actor and the actor resumes with the result; from an actor whose executor is this connection's
/// event loop (`taskExecutor.eventLoop.executor`), or inside ``withEventLoopAffinity(_:)``, a
/// query round trip crosses no thread at all.
public final class PostgresConnection: Sendable {
    /// The configuration the connection was opened with.
    public let configuration: PostgresConfiguration
    let channel: any Channel
    let handler: NIOLoopBound<PostgresChannelHandler>
    let info: ConnectionInfo
    let logger: Logger
    private let state: NIOLockedValueBox<SharedState>
    private let statusMirror: ManagedAtomic<UInt8>
    private let executor: EventLoopTaskExecutor

    struct SharedState {
        var parameters: [String: String]
        var listeners: [String: [Int: ListenerContinuation]] = [:]
        var nextListenerID = 0
        var closed = false
    }

    typealias ListenerContinuation = AsyncThrowingStream<PostgresNotification, any Error>.Continuation

    private init(configuration: PostgresConfiguration, channel: any Channel, handler: PostgresChannelHandler,
                 info: ConnectionInfo, logger: Logger) {
        self.statusMirror = handler.statusMirror
        self.configuration = configuration
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        self.info = info
        self.logger = logger
        self.state = NIOLockedValueBox(SharedState(parameters: info.parameters))
        self.executor = EventLoopTaskExecutor(channel.eventLoop)
    }

    /// Opens a connection, negotiates TLS and authenticates.
    public static func connect(configuration: PostgresConfiguration, logger: Logger,
                               eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> PostgresConnection {
        let sslContext: NIOSSLContext?
        if configuration.tlsMode != .disable {
            do { sslContext = try configuration.effectiveTLS.makeContext() } catch {
                throw PostgresError.tls("invalid TLS settings: \(error)")
            }
        } else {
            sslContext = nil
        }
        let loop = eventLoopGroup.next()
        let startup = loop.makePromise(of: ConnectionInfo.self)
        let boxedLogger = logger
        let mirror = ManagedAtomic<UInt8>(TransactionStatus.idle.rawValue)
        let channel: any Channel
        do {
            channel = try await WireConnector.connect(
                ConnectionConfiguration(endpoint: configuration.endpoint, connectTimeout: configuration.connectTimeout, tls: nil),
                eventLoopGroup: loop
            ) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = PostgresChannelHandler(configuration: configuration, sslContext: sslContext,
                                                         logger: boxedLogger, startupPromise: startup, statusMirror: mirror)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        } catch {
            startup.fail(error)
            let (host, port): (String, Int)
            switch configuration.endpoint {
            case .tcp(let h, let p): (host, port) = (h, p)
            case .unixSocket(let path): (host, port) = (path, 0)
            }
            throw PostgresError.connectFailed(host: host, port: port, reason: "\(error)")
        }
        let handler = try await channel.eventLoop.submit {
            let h = try channel.pipeline.syncOperations.handler(type: PostgresChannelHandler.self)
            h.start()
            return NIOLoopBound(h, eventLoop: channel.eventLoop)
        }.get()
        // Bound the whole startup (TLS handshake, authentication) by the connect timeout.
        let timeout = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.connectTimeout)) {
            startup.fail(PostgresError.connectionClosed("startup did not finish within \(configuration.connectTimeout)"))
            channel.close(promise: nil)
        }
        let info: ConnectionInfo
        do {
            info = try await startup.futureResult.get()
            timeout.cancel()
        } catch {
            timeout.cancel()
            try? await channel.close()
            throw error
        }
        let connection = try await channel.eventLoop.submit {
            let conn = PostgresConnection(configuration: configuration, channel: channel, handler: handler.value, info: info, logger: logger)
            conn.installCallbacks(handler.value)
            return conn
        }.get()
        return connection
    }

    private func installCallbacks(_ handler: PostgresChannelHandler) {
        handler.onNotification = { [weak self] n in self?.dispatch(n) }
        handler.onCancelRequest = { [weak self] in
            guard let self else { return }
            Task { await self.sendCancelRequest() }
        }
        handler.onParameterStatus = { [weak self] name, value in
            self?.state.withLockedValue { $0.parameters[name] = value }
        }
        handler.onClose = { [weak self] error in self?.closed(error) }
    }

    // MARK: state

    /// The backend process ID.
    public var processID: Int32? { info.backendKey?.processID }
    /// Server parameters reported at startup and since (`server_version`, `TimeZone`, ...).
    public var serverParameters: [String: String] { state.withLockedValue { $0.parameters } }
    /// The transaction status reported by the last ReadyForQuery.
    public var lastTransactionStatus: TransactionStatus {
        TransactionStatus(rawValue: statusMirror.load(ordering: .relaxed)) ?? .idle
    }
    /// True when TLS is active.
    public var isTLS: Bool { info.tlsActive }

    /// A task executor on this connection's event loop (WireCore's `EventLoopTaskExecutor`).
    /// Running a task that issues many short queries on this connection with
    /// `withTaskExecutorPreference(connection.taskExecutor) { ... }` saves two thread hops per
    /// query; ``withEventLoopAffinity(_:)`` does that for you.
    public var taskExecutor: EventLoopTaskExecutor { executor }

    /// Runs `body` on this connection's event loop (a task executor preference).
    ///
    /// For a task that issues many short queries on this connection one after the other: each
    /// query is written on the channel's thread and the task resumes there when the response
    /// arrives, as a single-threaded C client would, instead of crossing to Swift's global pool
    /// and back on every round trip. Keep `body` free of blocking and long CPU work: it holds up
    /// the I/O of every connection on the same event loop.
    ///
    /// ```swift
    /// let total = try await connection.withEventLoopAffinity {
    ///     var sum = 0
    ///     for id in ids { sum += try await connection.execute("SELECT n FROM t WHERE id = \(id)").rows.count }
    ///     return sum
    /// }
    /// ```
    public func withEventLoopAffinity<T, Failure: Error>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        try await WireCore.withEventLoopAffinity(executor, isolation: isolation, body)
    }
    /// False once the connection is closed.
    public var isUsable: Bool { !state.withLockedValue { $0.closed } && channel.isActive }

    /// Closes the connection (sends Terminate). Requests in flight fail.
    public func close() async {
        let h = handler
        channel.eventLoop.execute { h.value.terminate() }
        try? await channel.closeFuture.get()
    }

    private func closed(_ error: PostgresError) {
        let listeners = state.withLockedValue { s -> [ListenerContinuation] in
            s.closed = true
            let all = s.listeners.values.flatMap { $0.values }
            s.listeners.removeAll()
            return all
        }
        for l in listeners { l.finish(throwing: error) }
    }

    // MARK: sending

    func submit(_ request: any PostgresRequest & Sendable) {
        let h = handler
        // The loop as stored by the executor: no existential `channel.eventLoop` getter per query.
        let loop = executor.eventLoop
        if loop.inEventLoop {
            h.value.send(request)
        } else {
            loop.execute { h.value.send(request) }
        }
    }

    /// Runs `operation`, and if the task is cancelled while the request is in flight, sends a
    /// CancelRequest for it on a side connection.
    nonisolated(nonsending) func withCancellation<T: Sendable>(_ request: any PostgresRequest & Sendable,
                                                         _ operation: nonisolated(nonsending) () async throws -> T) async throws -> T {
        let h = handler
        let loop = executor.eventLoop
        return try await withTaskCancellationHandler {
            try await operation()
        } onCancel: {
            loop.execute { h.value.requestCancel(request) }
        }
    }

    /// Sends a CancelRequest for whatever this connection is executing, on a new side connection.
    public func sendCancelRequest() async {
        guard let key = info.backendKey else { return }
        do {
            guard let address = channel.remoteAddress else { return }
            let side = try await ClientBootstrap(group: channel.eventLoop)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .connect(to: address).get()
            var buf = side.allocator.buffer(capacity: 16)
            FrontendMessage.cancelRequest(processID: key.processID, secretKey: key.secretKey).encodeFast(into: &buf)
            try await side.writeAndFlush(buf).get()
            // The server closes the side connection after reading the request.
            try? await side.closeFuture.get()
        } catch {
            logger.warning("could not send CancelRequest: \(error)")
        }
    }

    // MARK: queries

    /// Runs an extended query (binary results) and streams its rows.
    ///
    /// Cancelling the calling task cancels the query on the server.
    nonisolated(nonsending) public func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        if let op = traced(query.sql) { return try await op.run { try await self.query(query) } }
        return try await runStream(.extended(query, .automatic, maxRows: 0))
    }

    /// Runs an extended query fetching `batchSize` rows per round trip (a portal-based cursor),
    /// streaming them. Uses the connection exclusively while it runs.
    nonisolated(nonsending) public func query(_ query: PostgresQuery, batchSize: Int32) async throws -> PostgresRowSequence {
        if let op = traced(query.sql) { return try await op.run { try await self.query(query, batchSize: batchSize) } }
        precondition(batchSize > 0, "batchSize must be positive")
        return try await runStream(.extended(query, .unnamed, maxRows: batchSize))
    }

    /// Runs an extended query and collects all rows.
    nonisolated(nonsending) public func execute(_ query: PostgresQuery) async throws -> PostgresResult {
        if let op = traced(query.sql) { return try await op.run { try await self.execute(query) } }
        return try await runCollectFirst(.extended(query, .automatic, maxRows: 0))
    }

    /// Runs several extended queries pipelined (all written at once, each with its own `Sync`).
    /// One failing query does not affect the others; results are in order.
    nonisolated(nonsending) public func pipeline(_ queries: [PostgresQuery]) async -> [Result<PostgresResult, any Error>] {
        if let op = PGTracing.pipeline(queries, configuration) { return await op.run { await self.pipeline(queries) } }
        if queries.isEmpty { return [] }
        // One collector for the batch: each request stores its result set in its slot on the
        // event loop, and the last one resumes the task once (no promise or future per query).
        let collector = PipelineCollector(count: queries.count)
        let context = configuration.codingContext
        var requests: [any PostgresRequest] = []
        requests.reserveCapacity(queries.count)
        for (i, q) in queries.enumerated() {
            requests.append(QueryRequest(kind: .extended(q, .automatic, maxRows: 0), mode: .pipelined(collector, i), context: context))
        }
        let batch = PipelineBatch(requests: requests)
        let h = handler
        let loop = executor.eventLoop
        return await withUnsafeContinuation { continuation in
            collector.continuation = continuation
            if loop.inEventLoop {
                h.value.sendBatch(batch.requests)
            } else {
                loop.execute { h.value.sendBatch(batch.requests) }
            }
        }
    }

    /// Runs SQL with the simple query protocol (text results); several statements return
    /// several results.
    nonisolated(nonsending) public func simpleQuery(_ sql: String) async throws -> [PostgresResult] {
        if let op = traced(sql) { return try await op.run { try await self.simpleQuery(sql) } }
        return try await runCollect(.simple(sql))
    }

    nonisolated(nonsending) func runCollect(_ kind: QueryKind) async throws -> [PostgresResult] {
        // The request resumes the awaiting task itself when it completes (on the event loop): no
        // promise, no future callback. On the connection's event loop (withEventLoopAffinity) the
        // request is written inline and the task resumes inline: no thread hop at all.
        let request = QueryRequest(kind: kind, mode: .collectDirect, context: configuration.codingContext)
        return try await withCancellation(request) {
            try await withUnsafeThrowingContinuation { continuation in
                request.continuation = continuation
                submit(request)
            }
        }
    }

    /// ``runCollect(_:)`` for one statement: resumes the task with its first result set directly.
    nonisolated(nonsending) func runCollectFirst(_ kind: QueryKind) async throws -> PostgresResult {
        let request = QueryRequest(kind: kind, mode: .collectFirst, context: configuration.codingContext)
        return try await withCancellation(request) {
            try await withUnsafeThrowingContinuation { continuation in
                request.firstContinuation = continuation
                submit(request)
            }
        }
    }

    nonisolated(nonsending) func runStream(_ kind: QueryKind) async throws -> PostgresRowSequence {
        let promise = channel.eventLoop.makePromise(of: PostgresRowSequence.self)
        let request = QueryRequest(kind: kind, mode: .stream(promise), context: configuration.codingContext)
        let h = handler
        if channel.eventLoop.inEventLoop {
            request.handler = h.value
            h.value.send(request)
        } else {
            channel.eventLoop.execute {
                request.handler = h.value
                h.value.send(request)
            }
        }
        return try await withCancellation(request) { try await promise.futureResult.get() }
    }

    // MARK: prepared statements

    /// Prepares a named statement explicitly.
    nonisolated(nonsending) public func prepare(_ sql: String, name: String? = nil, parameterTypes: [PostgresDataType] = []) async throws -> PostgresPreparedStatement {
        let statementName = name ?? "pgwire_p\(UInt32.random(in: 0...UInt32.max))"
        let results = try await runCollect(.prepare(name: statementName, sql: sql, types: parameterTypes))
        let first = results.first
        // Results will be requested in binary.
        let cols = (first?.columns.columns ?? []).map { c -> PostgresColumn in var c = c; c.format = .binary; return c }
        return PostgresPreparedStatement(name: statementName, sql: sql, parameterTypes: first?.parameterTypes ?? [],
                                         columns: PostgresColumns(cols))
    }

    /// Executes a prepared statement with `bindings`, streaming the rows.
    nonisolated(nonsending) public func query(_ statement: PostgresPreparedStatement, _ bindings: PostgresBindings = PostgresBindings()) async throws -> PostgresRowSequence {
        if let op = traced(statement.sql) { return try await op.run { try await self.query(statement, bindings) } }
        return try await runStream(.extended(PostgresQuery(unsafeSQL: statement.sql, binds: bindings),
                                      .named(statement.name, statement.columns), maxRows: 0))
    }

    /// Executes a prepared statement with `bindings`, collecting the rows.
    nonisolated(nonsending) public func execute(_ statement: PostgresPreparedStatement, _ bindings: PostgresBindings = PostgresBindings()) async throws -> PostgresResult {
        if let op = traced(statement.sql) { return try await op.run { try await self.execute(statement, bindings) } }
        return try await runCollectFirst(.extended(PostgresQuery(unsafeSQL: statement.sql, binds: bindings),
                                                   .named(statement.name, statement.columns), maxRows: 0))
    }

    /// Closes (deallocates) a prepared statement.
    nonisolated(nonsending) public func deallocate(_ statement: PostgresPreparedStatement) async throws {
        _ = try await runCollect(.closeStatement(statement.name))
    }

    // MARK: COPY

    /// Runs `COPY ... FROM STDIN` (any format) and streams data from `writer`.
    ///
    /// Returns the number of rows copied. If `writer` throws, the COPY is aborted with CopyFail
    /// and the error is rethrown; the connection stays usable.
    @discardableResult
    public func copyFrom(_ sql: String, writer: (PostgresCopyWriter) async throws -> Void) async throws -> Int {
        if let op = traced(sql) { return try await op.run { try await self.copyFrom(sql, writer: writer) } }
        let loop = channel.eventLoop
        let ready = loop.makePromise(of: CopyResponse.self)
        let done = loop.makePromise(of: String.self)
        let request = CopyInRequest(sql: sql, ready: ready, done: done)
        submit(request)
        let format = try await ready.futureResult.get()
        let copyWriter = PostgresCopyWriter(connection: self, format: format, done: done.futureResult)
        do {
            try await writer(copyWriter)
            try await copyWriter.finish()
        } catch {
            try? await copyWriter.abort("\(error)")
            _ = try? await done.futureResult.get()
            throw error
        }
        let tag = try await done.futureResult.get()
        return Int(tag.split(separator: " ").last ?? "") ?? 0
    }

    /// Runs `COPY ... TO STDOUT` and returns its data as an async sequence of chunks.
    /// Stopping iteration early cancels the COPY on the server.
    public func copyTo(_ sql: String) async throws -> PostgresCopyOutSequence {
        if let op = traced(sql) { return try await op.run { try await self.copyTo(sql) } }
        let promise = channel.eventLoop.makePromise(of: PostgresCopyOutSequence.self)
        let request = CopyOutRequest(sql: sql, started: promise)
        let h = handler
        channel.eventLoop.execute {
            request.handler = h.value
            h.value.send(request)
        }
        return try await promise.futureResult.get()
    }

    func writeCopyBytes(_ buffer: ByteBuffer, _ more: ByteBuffer? = nil) async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let h = handler
        channel.eventLoop.execute { h.value.writeRaw(buffer, more, promise: promise) }
        try await promise.futureResult.get()
    }

    // MARK: LISTEN / NOTIFY

    /// Subscribes to a notification channel (sends `LISTEN`). The sequence ends with an error when
    /// the connection closes; ``PostgresClient/listen(_:)`` re-subscribes after reconnecting.
    public func listen(_ channelName: String) async throws -> PostgresNotificationSequence {
        let (stream, continuation) = AsyncThrowingStream<PostgresNotification, any Error>.makeStream()
        let (id, first) = state.withLockedValue { s -> (Int, Bool) in
            s.nextListenerID += 1
            let first = s.listeners[channelName]?.isEmpty ?? true
            s.listeners[channelName, default: [:]][s.nextListenerID] = continuation
            return (s.nextListenerID, first)
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            let last = self.state.withLockedValue { s -> Bool in
                s.listeners[channelName]?[id] = nil
                if s.listeners[channelName]?.isEmpty ?? false { s.listeners[channelName] = nil; return !s.closed }
                return false
            }
            if last { Task { _ = try? await self.simpleQuery("UNLISTEN \(quoteIdentifier(channelName))") } }
        }
        if first {
            do {
                _ = try await simpleQuery("LISTEN \(quoteIdentifier(channelName))")
            } catch {
                continuation.finish(throwing: error)
                throw error
            }
        }
        return PostgresNotificationSequence(base: stream)
    }

    /// Sends `NOTIFY` via `pg_notify` (payload bound as a parameter).
    public func notify(_ channelName: String, payload: String = "") async throws {
        _ = try await execute("SELECT pg_notify(\(channelName), \(payload))")
    }

    private func dispatch(_ n: PostgresNotification) {
        let targets = state.withLockedValue { s in s.listeners[n.channel].map { Array($0.values) } ?? [] }
        for t in targets { t.yield(n) }
    }
}

/// Notifications of one channel.
public struct PostgresNotificationSequence: AsyncSequence, Sendable {
    public typealias Element = PostgresNotification
    let base: AsyncThrowingStream<PostgresNotification, any Error>

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<PostgresNotification, any Error>.AsyncIterator
        /// The next notification.
        public mutating func next() async throws -> PostgresNotification? { try await base.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator()) }
}

/// A statement prepared with ``PostgresConnection/prepare(_:name:parameterTypes:)``.
public struct PostgresPreparedStatement: Sendable, Hashable {
    /// Server-side name.
    public let name: String
    /// SQL text.
    public let sql: String
    /// Parameter types inferred by the server.
    public let parameterTypes: [PostgresDataType]
    /// Result columns (binary format).
    public let columns: PostgresColumns

    public static func == (a: Self, b: Self) -> Bool { a.name == b.name && a.sql == b.sql }
    public func hash(into h: inout Hasher) { h.combine(name); h.combine(sql) }
}

/// Writes COPY data; buffers up to 64 KiB per CopyData message.
public final class PostgresCopyWriter: @unchecked Sendable {
    let connection: PostgresConnection
    /// The format the server announced.
    public let format: CopyResponse
    let done: EventLoopFuture<String>
    private var buffer = ByteBuffer()
    private var finished = false
    static let chunkSize = 64 * 1024

    init(connection: PostgresConnection, format: CopyResponse, done: EventLoopFuture<String>) {
        self.connection = connection
        self.format = format
        self.done = done
        self.buffer.reserveCapacity(Self.chunkSize + 1024)
        let box = serverError
        done.whenFailure { e in box.withLockedValue { $0 = e } }
    }

    private let serverError = NIOLockedValueBox<(any Error)?>(nil)

    /// Appends raw COPY data (text lines or binary rows). Small writes are batched into 64 KiB
    /// CopyData messages; large ones are sent as they are, without copying.
    public func write(_ data: ByteBuffer) async throws {
        if data.readableBytes >= Self.directWriteSize {
            try await flush()
            try await send(data)
            return
        }
        var data = data
        buffer.writeBuffer(&data)
        if buffer.readableBytes >= Self.chunkSize { try await flush() }
    }

    /// Writes of at least this size go out as their own CopyData message.
    static let directWriteSize = 8 * 1024

    /// Appends raw COPY data.
    public func write(_ string: String) async throws {
        buffer.writeString(string)
        if buffer.readableBytes >= Self.chunkSize { try await flush() }
    }

    /// Appends one row in binary COPY format (writes the header before the first row).
    public func writeBinaryRow(_ encode: (inout PostgresBinaryCopyRow) throws -> Void) async throws {
        if !headerWritten {
            buffer.writeBytes(PostgresBinaryCopy.header)
            headerWritten = true
        }
        var row = PostgresBinaryCopyRow(buffer: buffer, context: connection.configuration.codingContext)
        buffer = ByteBuffer()
        let countIndex = row.buffer.writerIndex
        row.buffer.writeInteger(Int16(0))
        try encode(&row)
        row.buffer.setInteger(Int16(row.count), at: countIndex)
        buffer = row.buffer
        if buffer.readableBytes >= Self.chunkSize { try await flush() }
    }

    private var headerWritten = false

    func flush() async throws {
        guard buffer.readableBytes > 0 else {
            if let e = serverError.withLockedValue({ $0 }) { throw e }
            return
        }
        let data = buffer
        buffer = ByteBuffer()
        buffer.reserveCapacity(Self.chunkSize + 1024)
        try await send(data)
    }

    /// Sends one CopyData message: a 5-byte header, then `data` as it is.
    private func send(_ data: ByteBuffer) async throws {
        if let e = serverError.withLockedValue({ $0 }) { throw e }
        var header = ByteBuffer()
        header.reserveCapacity(5)
        header.writeInteger(UInt8(ascii: "d"))
        header.writeInteger(Int32(data.readableBytes + 4))
        try await connection.writeCopyBytes(header, data)
    }

    func finish() async throws {
        guard !finished else { return }
        if headerWritten { buffer.writeInteger(Int16(-1)) }
        try await flush()
        finished = true
        var msg = ByteBuffer()
        FrontendMessage.copyDone.encodeFast(into: &msg)
        try await connection.writeCopyBytes(msg)
    }

    func abort(_ reason: String) async throws {
        guard !finished else { return }
        finished = true
        var msg = ByteBuffer()
        try FrontendMessage.copyFail(String(reason.filter { $0 != "\0" }.prefix(200))).encode(into: &msg)
        try await connection.writeCopyBytes(msg)
    }
}

/// Binary COPY format constants.
public enum PostgresBinaryCopy {
    /// Signature, flags and header extension length.
    public static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
}

/// One row being written in binary COPY format.
public struct PostgresBinaryCopyRow {
    var buffer: ByteBuffer
    let context: PostgresCodingContext
    var count = 0
    init(buffer: ByteBuffer, context: PostgresCodingContext) {
        self.buffer = buffer
        self.context = context
    }

    /// Appends a field (its binary encoding must match the column type).
    public mutating func append<T: PostgresEncodable>(_ value: T) throws {
        try buffer.writePostgresCell(value, context: context)
        count += 1
    }
}
