import NIOCore

typealias CopyProducer = NIOThrowingAsyncSequenceProducer<
    ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, RowStreamDelegate>

/// `COPY ... FROM STDIN`: waits for CopyInResponse, then the writer sends CopyData.
final class CopyInRequest: PostgresRequest, @unchecked Sendable {
    let sql: String
    let ready: EventLoopPromise<CopyResponse>
    let done: EventLoopPromise<String>
    var isExclusive: Bool { true }
    private var readyDone = false
    private var error: PostgresServerError?
    private var tag = ""
    private(set) var failedEarly = false

    init(sql: String, ready: EventLoopPromise<CopyResponse>, done: EventLoopPromise<String>) {
        self.sql = sql
        self.ready = ready
        self.done = done
    }

    func encode(into buffer: inout ByteBuffer, cache: inout StatementCache) throws(PostgresError) {
        for name in cache.pendingCloses { try? FrontendMessage.close(.statement(name)).encode(into: &buffer) }
        cache.pendingCloses.removeAll()
        do { try FrontendMessage.query(sql).encode(into: &buffer) } catch { throw .protocolViolation(error) }
    }

    func receive(_ event: QueryEvent, cache: inout StatementCache) -> [FrontendMessage] {
        switch event {
        case .copyInResponse(let r):
            if !readyDone { readyDone = true; ready.succeed(r) }
        case .commandComplete(let t):
            tag = t
        case .error(let f):
            if error == nil { error = PostgresServerError(fields: f) }
        case .copyOutResponse:
            return []
        default:
            break
        }
        return []
    }

    func flushRows() {}

    func complete(_ status: TransactionStatus) {
        let err: PostgresError? = error.map { .server($0) }
        if !readyDone {
            readyDone = true
            failedEarly = true
            ready.fail(err ?? PostgresError.misuse("the statement did not start COPY FROM STDIN: \(sql)"))
        }
        if let err { done.fail(err) } else { done.succeed(tag) }
    }

    func fail(_ error: PostgresError) {
        if !readyDone { readyDone = true; ready.fail(error) }
        done.fail(error)
    }
}

/// `COPY ... TO STDOUT`: streams CopyData chunks.
final class CopyOutRequest: PostgresRequest, @unchecked Sendable {
    let sql: String
    let started: EventLoopPromise<PostgresCopyOutSequence>
    weak var handler: PostgresChannelHandler?
    var isExclusive: Bool { true }
    private var source: CopyProducer.Source?
    private var startedDone = false
    private var error: PostgresServerError?
    private var pending: [ByteBuffer] = []
    private var consumerGone = false
    private var isDone = false
    private var format: CopyResponse?

    init(sql: String, started: EventLoopPromise<PostgresCopyOutSequence>) {
        self.sql = sql
        self.started = started
    }

    func encode(into buffer: inout ByteBuffer, cache: inout StatementCache) throws(PostgresError) {
        for name in cache.pendingCloses { try? FrontendMessage.close(.statement(name)).encode(into: &buffer) }
        cache.pendingCloses.removeAll()
        do { try FrontendMessage.query(sql).encode(into: &buffer) } catch { throw .protocolViolation(error) }
    }

    func receive(_ event: QueryEvent, cache: inout StatementCache) -> [FrontendMessage] {
        switch event {
        case .copyOutResponse(let r):
            format = r
            let loop = started.futureResult.eventLoop
            let delegate = RowStreamDelegate(
                eventLoop: loop,
                onDemand: { [weak self] in self?.handler?.resumeReading() },
                onTerminate: { [weak self] in self?.consumerTerminated() })
            let made = CopyProducer.makeSequence(
                elementType: ByteBuffer.self, failureType: (any Error).self,
                backPressureStrategy: .init(lowWatermark: 4, highWatermark: 256), finishOnDeinit: false, delegate: delegate)
            source = made.source
            startedDone = true
            started.succeed(PostgresCopyOutSequence(base: made.sequence, format: r))
        case .copyData(let data):
            if !consumerGone { pending.append(data) }
        case .error(let f):
            flushRows()
            if error == nil { error = PostgresServerError(fields: f) }
        default:
            break
        }
        return []
    }

    private func consumerTerminated() {
        guard !isDone else { return }
        consumerGone = true
        pending.removeAll()
        handler?.resumeReading()
        handler?.requestCancel(self)
    }

    func flushRows() {
        guard !pending.isEmpty, let source else { return }
        let chunks = pending
        pending.removeAll(keepingCapacity: true)
        if source.yield(contentsOf: chunks) == .stopProducing { handler?.pauseReading() }
    }

    func complete(_ status: TransactionStatus) {
        flushRows()
        isDone = true
        let err: PostgresError? = error.map { .server($0) }
        if !startedDone {
            startedDone = true
            if let err { started.fail(err) } else { started.fail(PostgresError.misuse("the statement did not start COPY TO STDOUT: \(sql)")) }
            return
        }
        if let err { source?.finish(err) } else { source?.finish() }
    }

    func fail(_ error: PostgresError) {
        isDone = true
        if !startedDone { startedDone = true; started.fail(error) } else { source?.finish(error) }
    }
}

/// The data of `COPY ... TO STDOUT` as chunks (one CopyData message each; in text format one
/// row per chunk), with back-pressure.
public struct PostgresCopyOutSequence: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let base: CopyProducer
    /// The format the server announced.
    public let format: CopyResponse

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: CopyProducer.AsyncIterator
        /// The next chunk.
        public mutating func next() async throws -> ByteBuffer? { try await base.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator()) }
}
