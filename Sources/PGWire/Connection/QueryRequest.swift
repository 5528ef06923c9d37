import Logging
import NIOCore

/// One result set of a collected query.
public struct PostgresResult: Sendable {
    /// Columns (empty for commands without rows).
    public var columns: PostgresColumns
    /// Rows.
    public var rows: [PostgresRow]
    /// The command tag, e.g. `SELECT 3`, `INSERT 0 1`.
    public var commandTag: String
    /// Parameter types (only for `prepare`).
    public var parameterTypes: [PostgresDataType] = []

    /// Rows affected/returned, parsed from the command tag.
    public var rowCount: Int? {
        guard let last = commandTag.split(separator: " ").last else { return nil }
        return Int(last)
    }
}

/// How an extended query chooses its prepared statement.
enum StatementChoice {
    /// Use the connection's automatic cache (or unnamed statements when it is disabled).
    case automatic
    /// Always the unnamed statement.
    case unnamed
    /// A statement prepared explicitly.
    case named(String, PostgresColumns)
}

/// What a query request sends.
enum QueryKind {
    case simple(String)
    case extended(PostgresQuery, StatementChoice, maxRows: Int32)
    case prepare(name: String, sql: String, types: [PostgresDataType])
    case closeStatement(String)
}

/// The row stream's back-pressure delegate.
struct RowStreamDelegate: NIOAsyncSequenceProducerDelegate {
    let eventLoop: any EventLoop
    let onDemand: @Sendable () -> Void
    let onTerminate: @Sendable () -> Void

    func produceMore() { eventLoop.execute(onDemand) }
    func didTerminate() { eventLoop.execute(onTerminate) }
}

/// Rows travel to the consumer in batches (one per socket read burst), so the consumer takes the
/// producer's lock once per batch, not once per row.
typealias RowProducer = NIOThrowingAsyncSequenceProducer<
    [PostgresRow], any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, RowStreamDelegate>

/// The results of one ``PostgresConnection/pipeline(_:)`` batch, filled in on the event loop;
/// the last result resumes the awaiting task (once, with all results in order).
final class PipelineCollector: @unchecked Sendable {
    private var results: [Result<PostgresResult, any Error>?]
    private var remaining: Int
    /// Set before the batch is sent.
    var continuation: UnsafeContinuation<[Result<PostgresResult, any Error>], Never>?

    init(count: Int) {
        results = Array(repeating: nil, count: count)
        remaining = count
    }

    /// Stores the result of query `index` (the first one counts); resumes the task after the last.
    func set(_ index: Int, _ result: Result<PostgresResult, any Error>) {
        guard results[index] == nil else { return }
        results[index] = result
        remaining -= 1
        if remaining == 0, let c = continuation {
            continuation = nil
            let all = results.map { $0! }
            results = []
            c.resume(returning: all)
        }
    }
}

/// The requests of a pipeline handed to the event loop (each is used only there).
struct PipelineBatch: @unchecked Sendable {
    let requests: [any PostgresRequest]
}

/// A simple or extended query, collecting all results or streaming rows.
final class QueryRequest: PostgresRequest, @unchecked Sendable {
    enum Mode {
        /// One query of ``PostgresConnection/pipeline(_:)``: its first result set goes to slot
        /// `index` of the batch's collector.
        case pipelined(PipelineCollector, Int)
        /// Collect, resuming the awaiting task directly (no promise and future callback per query);
        /// the continuation is set by ``PostgresConnection/runCollect(_:)`` before the request is sent.
        case collectDirect
        /// Like `.collectDirect` for a single statement (``PostgresConnection/execute(_:)``): the task
        /// gets the first result set itself, no array of results is built;
        /// ``firstContinuation`` is set before the request is sent.
        case collectFirst
        case stream(EventLoopPromise<PostgresRowSequence>)
    }

    /// A result set without columns, rows or tag (an empty query, or a statement that sent none).
    private static var noResult: PostgresResult { PostgresResult(columns: PostgresColumns([]), rows: [], commandTag: "") }

    /// The awaiting task of a `.collectDirect` request; resumed exactly once, then cleared.
    var continuation: UnsafeContinuation<[PostgresResult], any Error>?
    /// The awaiting task of a `.collectFirst` request; resumed exactly once, then cleared.
    var firstContinuation: UnsafeContinuation<PostgresResult, any Error>?

    private func finishCollect(_ result: Result<[PostgresResult], any Error>) {
        switch mode {
        case .pipelined(let collector, let index):
            collector.set(index, result.map { $0.first ?? Self.noResult })
        case .collectDirect:
            let c = continuation
            continuation = nil
            c?.resume(with: result)
        case .collectFirst:
            let c = firstContinuation
            firstContinuation = nil
            c?.resume(with: result.map { $0.first ?? Self.noResult })
        case .stream: break
        }
    }

    /// Completes a `.collectFirst` request with its first result set (no array).
    private func finishFirst(_ result: PostgresResult) {
        let c = firstContinuation
        firstContinuation = nil
        c?.resume(returning: result)
    }

    /// Records a finished result set: the first is kept apart, so a single-statement query
    /// builds no array of results.
    private func appendResult(_ r: PostgresResult) {
        if firstResult == nil { firstResult = r } else { results.append(r) }
    }

    /// All result sets in order.
    private func takeResults() -> [PostgresResult] {
        guard let first = firstResult else { return [] }
        firstResult = nil
        var all: [PostgresResult] = []
        all.reserveCapacity(1 + results.count)
        all.append(first)
        all.append(contentsOf: results)
        results = []
        return all
    }

    let kind: QueryKind
    let mode: Mode
    let context: PostgresCodingContext
    weak var handler: PostgresChannelHandler?
    let isExclusive: Bool

    // response state
    private var firstResult: PostgresResult?
    private var results: [PostgresResult] = []
    private var current: PostgresResult?
    private var columns: PostgresColumns?
    private var parameterTypes: [PostgresDataType] = []
    private var error: PostgresServerError?
    private var cacheKey: StatementCache.Key?
    private var parseAcknowledged = true
    private var streamPromiseDone = false
    private var source: RowProducer.Source?
    private var pendingRows: [PostgresRow] = []
    private(set) var isDone = false
    private var isCollecting: Bool { if case .stream = mode { return false } else { return true } }
    private var consumerGone = false
    private var commandTag: String?
    private var tagBox: CommandTagBox?

    init(kind: QueryKind, mode: Mode, context: PostgresCodingContext) {
        self.kind = kind
        self.mode = mode
        self.context = context
        if case .extended(_, _, let maxRows) = kind, maxRows > 0 { isExclusive = true } else { isExclusive = false }
    }

    // MARK: encode

    /// Describe of the unnamed portal, preencoded.
    static let describePortal: [UInt8] = [UInt8(ascii: "D"), 0, 0, 0, 6, UInt8(ascii: "P"), 0]
    /// Execute of the unnamed portal for all rows, then Sync, preencoded.
    static let executeAllAndSync: [UInt8] = [UInt8(ascii: "E"), 0, 0, 0, 9, 0, 0, 0, 0, 0, UInt8(ascii: "S"), 0, 0, 0, 4]

    func encode(into buffer: inout ByteBuffer, cache: inout StatementCache) throws(PostgresError) {
        do {
            let closing = cache.pendingCloses.count
            for name in cache.pendingCloses { try FrontendMessage.close(.statement(name)).encode(into: &buffer) }
            switch kind {
            case .simple(let sql):
                try FrontendMessage.query(sql).encode(into: &buffer)
            case .prepare(let name, let sql, let types):
                parseAcknowledged = false
                try FrontendMessage.parse(name: name, query: sql, parameterTypes: types).encode(into: &buffer)
                try FrontendMessage.describe(.statement(name)).encode(into: &buffer)
                FrontendMessage.sync.encodeFast(into: &buffer)
            case .closeStatement(let name):
                try FrontendMessage.close(.statement(name)).encode(into: &buffer)
                FrontendMessage.sync.encodeFast(into: &buffer)
            case .extended(let query, let choice, let maxRows):
                if let e = query.binds.encodingError { throw PostgresError.encoding(e) }
                var name = ""
                var parse = true
                switch choice {
                case .unnamed:
                    break
                case .named(let n, let cols):
                    name = n
                    parse = false
                    columns = cols
                case .automatic:
                    if cache.isEnabled {
                        let key = StatementCache.key(sql: query.sql, types: query.binds.types)
                        if let entry = cache.lookup(key) {
                            name = entry.name
                            parse = false
                            columns = entry.columns
                        } else {
                            name = cache.insert(key)
                            cacheKey = key
                        }
                    }
                }
                if parse {
                    parseAcknowledged = false
                    try FrontendMessage.parse(name: name, query: query.sql, parameterTypes: query.binds.types).encode(into: &buffer)
                }
                // Bind (unnamed portal, binary results) written directly: no message value, no arrays.
                let start = buffer.beginMessage(UInt8(ascii: "B"))
                buffer.writeInteger(UInt8(0))
                try buffer.writePGString(name, field: "statement name")
                query.binds.writeBindParameters(into: &buffer)
                buffer.writeInteger(Int16(1))
                buffer.writeInteger(PostgresFormat.binary.rawValue)
                buffer.endMessage(start)
                if columns == nil { buffer.writeBytes(Self.describePortal) }
                if maxRows > 0 {
                    try FrontendMessage.execute(portal: "", maxRows: maxRows).encode(into: &buffer)
                    FrontendMessage.flush.encodeFast(into: &buffer)
                } else {
                    buffer.writeBytes(Self.executeAllAndSync)
                }
            }
            // Evictions caused by this request are closed with the next one.
            cache.pendingCloses.removeFirst(closing)
        } catch let e as PostgresError {
            throw e
        } catch let e as PostgresProtocolError {
            throw PostgresError.protocolViolation(e)
        } catch {
            throw PostgresError.misuse("\(error)")
        }
    }

    // MARK: responses

    func receive(_ event: QueryEvent, cache: inout StatementCache) -> [FrontendMessage] {
        switch event {
        case .dataRow(let row):
            guard let columns else { return [] }
            if consumerGone { return [] }
            let r = PostgresRow(columns: columns, data: row, context: context)
            switch mode {
            case .pipelined, .collectDirect, .collectFirst:
                if current == nil { current = PostgresResult(columns: columns, rows: [], commandTag: "") }
                current!.rows.append(r)
            case .stream:
                if source == nil { startStream() }
                pendingRows.append(r)
            }
            return []
        case .rowDescription(let cols):
            flushRows()
            let c = PostgresColumns(cols)
            columns = c
            if let key = cacheKey { cache.setColumns(key, c) }
            if isCollecting { current = PostgresResult(columns: c, rows: [], commandTag: "") } else { startStream() }
            return []
        case .noData:
            let c = PostgresColumns([])
            columns = c
            if let key = cacheKey { cache.setColumns(key, c) }
            return []
        case .parseComplete:
            parseAcknowledged = true
            return []
        case .bindComplete:
            if case .stream = mode, columns != nil, columns!.count > 0 { startStream() }
            return []
        case .closeComplete, .parameterDescription:
            if case .parameterDescription(let t) = event { parameterTypes = t }
            return []
        case .commandComplete(let tag):
            flushRows()
            commandTag = tag
            if isCollecting {
                var r = current ?? PostgresResult(columns: columns ?? PostgresColumns([]), rows: [], commandTag: "")
                r.commandTag = tag
                appendResult(r)
                current = nil
            }
            if case .extended(_, _, let maxRows) = kind, maxRows > 0 { return [.sync] }
            return []
        case .emptyQuery:
            if isCollecting { appendResult(Self.noResult) }
            return []
        case .portalSuspended:
            flushRows()
            if consumerGone { return [.sync] }
            if case .extended(_, _, let maxRows) = kind { return [.execute(portal: "", maxRows: maxRows), .flush] }
            return [.sync]
        case .error(let fields):
            flushRows()
            if error == nil { error = PostgresServerError(fields: fields) }
            if !parseAcknowledged, let key = cacheKey { cache.remove(key); cacheKey = nil }
            if case .extended(_, _, let maxRows) = kind, maxRows > 0 { return [.sync] }
            return []
        case .copyInResponse:
            // A COPY FROM STDIN through the query API: refuse it so the connection stays usable.
            return [.copyFail("COPY FROM STDIN is only supported through copyFrom")]
        case .copyOutResponse, .copyData, .copyDone:
            // COPY TO STDOUT through the query API: data is ignored; use copyTo.
            return []
        }
    }

    private func startStream() {
        guard case .stream(let promise) = mode, !streamPromiseDone else { return }
        streamPromiseDone = true
        let loop = promise.futureResult.eventLoop
        let delegate = RowStreamDelegate(
            eventLoop: loop,
            onDemand: { [weak self] in self?.handler?.resumeReading() },
            onTerminate: { [weak self] in self?.consumerTerminated() })
        let made = RowProducer.makeSequence(
            elementType: [PostgresRow].self, failureType: (any Error).self,
            backPressureStrategy: .init(lowWatermark: 1, highWatermark: 8), finishOnDeinit: false, delegate: delegate)
        source = made.source
        let box = CommandTagBox()
        tagBox = box
        promise.succeed(PostgresRowSequence(base: made.sequence, columns: columns ?? PostgresColumns([]), tag: box))
    }

    private func consumerTerminated() {
        guard !isDone else { return }
        consumerGone = true
        pendingRows.removeAll()
        handler?.resumeReading()
        handler?.requestCancel(self)
    }

    func flushRows() {
        guard !pendingRows.isEmpty, let source else { return }
        let rows = pendingRows
        pendingRows = []
        pendingRows.reserveCapacity(rows.count)
        if source.yield(rows) == .stopProducing { handler?.pauseReading() }
    }

    func complete(_ status: TransactionStatus) {
        flushRows()
        isDone = true
        if let error {
            let err = PostgresError.server(error)
            switch mode {
            case .pipelined, .collectDirect, .collectFirst: finishCollect(.failure(err))
            case .stream(let p):
                if streamPromiseDone { source?.finish(err) } else { streamPromiseDone = true; p.fail(err) }
            }
            return
        }
        switch mode {
        case .pipelined, .collectDirect, .collectFirst:
            if let current { appendResult(current); self.current = nil }
            if firstResult == nil, !parameterTypes.isEmpty || columns != nil {
                appendResult(PostgresResult(columns: columns ?? PostgresColumns([]), rows: [], commandTag: ""))
            }
            if firstResult != nil, !parameterTypes.isEmpty { firstResult!.parameterTypes = parameterTypes }
            if case .collectFirst = mode {
                let first = firstResult ?? Self.noResult
                firstResult = nil
                results = []
                finishFirst(first)
            } else {
                finishCollect(.success(takeResults()))
            }
        case .stream(let p):
            if !streamPromiseDone {
                streamPromiseDone = true
                let box = CommandTagBox()
                box.set(commandTag)
                p.succeed(PostgresRowSequence(empty: columns ?? PostgresColumns([]), tag: box))
            } else {
                tagBox?.set(commandTag)
                source?.finish()
            }
        }
    }

    func fail(_ error: PostgresError) {
        isDone = true
        pendingRows.removeAll()
        switch mode {
        case .pipelined, .collectDirect, .collectFirst: finishCollect(.failure(error))
        case .stream(let p):
            if streamPromiseDone { source?.finish(error) } else { streamPromiseDone = true; p.fail(error) }
        }
    }
}

extension FrontendMessage {
    /// Encodes messages that cannot fail.
    @inline(__always)
    func encodeFast(into buffer: inout ByteBuffer) {
        switch self {
        case .sync:
            buffer.writeInteger(UInt8(ascii: "S"))
            buffer.writeInteger(Int32(4))
        case .flush:
            buffer.writeInteger(UInt8(ascii: "H"))
            buffer.writeInteger(Int32(4))
        default:
            try? self.encode(into: &buffer)
        }
    }
}
