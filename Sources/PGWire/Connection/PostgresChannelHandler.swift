import Atomics
import Crypto
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import WireCore

/// What the connection learned during startup.
struct ConnectionInfo: Sendable {
    var backendKey: (processID: Int32, secretKey: Int32)?
    var parameters: [String: String]
    var tlsActive: Bool
}

/// An asynchronous notification (`NOTIFY channel, 'payload'`).
public struct PostgresNotification: Sendable, Hashable {
    /// PID of the notifying backend.
    public var processID: Int32
    /// Channel name.
    public var channel: String
    /// Payload.
    public var payload: String
}

/// Runs the ``ConnectionStateMachine`` on a NIO channel: decodes backend messages, executes the
/// machine's actions, writes requests, and applies back-pressure. Event-loop confined.
final class PostgresChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var machine: ConnectionStateMachine<any PostgresRequest>
    private var cache: StatementCache
    private var waiting = CircularBuffer<any PostgresRequest>()
    private var exclusiveInFlight = false
    private var cumulation: ByteBuffer?
    private var context: ChannelHandlerContext?
    private let logger: Logger
    private let configuration: PostgresConfiguration
    private let sslContext: NIOSSLContext?
    let startupPromise: EventLoopPromise<ConnectionInfo>
    private var startupDone = false
    private var closedError: PostgresError? {
        didSet { isClosedFlag = closedError != nil }
    }
    /// `closedError != nil`, kept as a plain flag for the per-message checks.
    private var isClosedFlag = false
    /// The last CommandComplete tag, reused while the server sends the same bytes (a prepared
    /// statement run again and again): no String is built per query.
    private var lastTagBytes: ByteBuffer?
    /// The String of ``lastTagBytes``.
    private var lastTag = ""
    private var lastStatus = TransactionStatus.idle
    private var flushScheduled = false
    private var readingPaused = false
    private var outBuffer: ByteBuffer

    /// Called (on the event loop) for every notification.
    var onNotification: (@Sendable (PostgresNotification) -> Void)?
    /// Called (on the event loop) when a request at the head wants the server to cancel it.
    var onCancelRequest: (@Sendable () -> Void)?
    /// Called (on the event loop) when ParameterStatus changes after startup.
    var onParameterStatus: (@Sendable (String, String) -> Void)?
    /// Called (on the event loop) once the channel is closed.
    var onClose: (@Sendable (PostgresError) -> Void)?

    /// Mirrors the transaction status for readers on other threads.
    let statusMirror: ManagedAtomic<UInt8>

    init(configuration: PostgresConfiguration, sslContext: NIOSSLContext?, logger: Logger,
         startupPromise: EventLoopPromise<ConnectionInfo>, statusMirror: ManagedAtomic<UInt8>) {
        self.statusMirror = statusMirror
        self.configuration = configuration
        self.machine = ConnectionStateMachine(parameters: configuration.startupParameters)
        self.cache = StatementCache(capacity: configuration.statementCacheCapacity)
        self.sslContext = sslContext
        self.logger = logger
        self.startupPromise = startupPromise
        self.outBuffer = ByteBufferAllocator().buffer(capacity: 4096)
    }

    var transactionStatus: TransactionStatus { machine.transactionStatus }
    var isClosed: Bool { isClosedFlag }
    var inFlightCount: Int { machine.inFlight.count + waiting.count }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
    }

    /// Starts the protocol (the channel is already active when the handler is added by the connector).
    func start() {
        guard let context else { return }
        perform(machine.connected(), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        shutdown(with: closedError ?? .connectionClosed("the server closed the connection"), context: context, close: false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let pgError: PostgresError
        if let e = error as? NIOSSLError {
            pgError = .tls("\(e)")
        } else if let e = error as? BoringSSLError {
            pgError = .tls("\(e)")
        } else if let e = error as? PostgresError {
            pgError = e
        } else if !startupDone, case .tlsHandshake = machine.state {
            pgError = .tls("\(error)")
        } else {
            pgError = .connectionClosed("\(error)")
        }
        shutdown(with: pgError, context: context, close: true)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            var binding: [UInt8]?
            if configuration.channelBinding != .disable,
               let ssl = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self),
               let cert = ssl.peerCertificate, let der = try? cert.toDERBytes() {
                binding = TLSServerEndPoint.hash(certificateDER: der)
            }
            perform(machine.tlsEstablished(channelBinding: binding), context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func shutdown(with error: PostgresError, context: ChannelHandlerContext, close: Bool) {
        if closedError == nil { closedError = error }
        if !startupDone {
            startupDone = true
            startupPromise.fail(error)
        }
        let failed = machine.closed()
        let queued = Array(waiting)
        waiting.removeAll()
        for r in failed { r.fail(error) }
        for r in queued { r.fail(error) }
        if let onClose { self.onClose = nil; onClose(error) }
        if close { context.close(promise: nil) }
    }

    /// Sends Terminate and closes.
    func terminate() {
        guard let context, closedError == nil else { return }
        closedError = .connectionClosed("the connection was closed by the client")
        var buf = context.channel.allocator.buffer(capacity: 5)
        FrontendMessage.terminate.encodeFast(into: &buf)
        context.writeAndFlush(NIOAny(buf), promise: nil)
        context.close(promise: nil)
    }

    // MARK: requests

    /// Queues or writes a request.
    func send(_ request: any PostgresRequest) {
        guard let context else { request.fail(.connectionClosed("the connection is not open")); return }
        if isClosedFlag { request.fail(closedError ?? .connectionClosed("the connection is closed")); return }
        if exclusiveInFlight || !waiting.isEmpty || (request.isExclusive && !machine.inFlight.isEmpty) {
            waiting.append(request)
            return
        }
        // Nothing else in flight: the request goes out now (one request/response round trip, as
        // libpq does). Requests sent while others are in flight are flushed together at the end
        // of the event-loop tick.
        write(request, context: context, flushNow: machine.inFlight.isEmpty && !batching)
    }

    /// True while ``sendBatch(_:)`` writes: its requests share one flush.
    private var batching = false

    /// The messages of the requests ``sendBatch(_:)`` writes: one buffer, one write, one flush.
    private var batchBuffer: ByteBuffer?

    /// Queues or writes several requests, flushed together.
    func sendBatch(_ requests: [any PostgresRequest]) {
        guard let context else {
            for r in requests { send(r) }
            return
        }
        batching = true
        batchBuffer = context.channel.allocator.buffer(capacity: min(requests.count, 4096) * 64)
        for r in requests { send(r) }
        batching = false
        if let buffer = batchBuffer, buffer.readableBytes > 0 {
            batchBuffer = nil
            context.writeAndFlush(NIOAny(buffer), promise: nil)
        }
        batchBuffer = nil
    }

    private func write(_ request: any PostgresRequest, context: ChannelHandlerContext, flushNow: Bool = false) {
        if batching, batchBuffer != nil {
            // Appended to the batch's buffer (written and flushed once by sendBatch).
            let mark = batchBuffer!.writerIndex
            do {
                try request.encode(into: &batchBuffer!, cache: &cache)
            } catch {
                batchBuffer!.moveWriterIndex(to: mark)
                request.fail(error)
                return
            }
            if request.isExclusive { exclusiveInFlight = true }
            machine.enqueue(request)
            return
        }
        outBuffer.clear()
        do {
            try request.encode(into: &outBuffer, cache: &cache)
        } catch {
            request.fail(error)
            return
        }
        if request.isExclusive { exclusiveInFlight = true }
        machine.enqueue(request)
        if flushNow && !flushScheduled {
            context.writeAndFlush(NIOAny(outBuffer), promise: nil)
        } else {
            context.write(NIOAny(outBuffer), promise: nil)
            scheduleFlush(context)
        }
    }

    /// Writes raw frontend bytes (COPY data) now; `more` follows `buffer` in the same flush.
    func writeRaw(_ buffer: ByteBuffer, _ more: ByteBuffer? = nil, promise: EventLoopPromise<Void>?) {
        guard let context, !isClosedFlag else {
            promise?.fail(closedError ?? .connectionClosed("the connection is not open"))
            return
        }
        if let more {
            context.write(NIOAny(buffer), promise: nil)
            context.writeAndFlush(NIOAny(more), promise: promise)
        } else {
            context.writeAndFlush(NIOAny(buffer), promise: promise)
        }
    }

    private func scheduleFlush(_ context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            context.flush()
        }
    }

    private func drainWaiting(context: ChannelHandlerContext) {
        while let next = waiting.first, !exclusiveInFlight {
            if next.isExclusive && !machine.inFlight.isEmpty { return }
            waiting.removeFirst()
            write(next, context: context)
        }
    }

    /// Asks the server to cancel `request` if it is the one currently executing.
    func requestCancel(_ request: any PostgresRequest) {
        if let head = machine.inFlight.first, head === request { onCancelRequest?() }
    }

    /// True when `request` is still waiting or in flight.
    func isPending(_ request: any PostgresRequest) -> Bool {
        machine.inFlight.contains { $0 === request } || waiting.contains { $0 === request }
    }

    // MARK: back-pressure

    func pauseReading() {
        guard !readingPaused, let context else { return }
        readingPaused = true
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
    }

    func resumeReading() {
        guard readingPaused, let context else { return }
        readingPaused = false
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if cumulation == nil || cumulation!.readableBytes == 0 {
            cumulation = incoming
        } else {
            cumulation!.writeBuffer(&incoming)
        }
        processInput(context: context)
    }

    private func processInput(context: ChannelHandlerContext) {
        guard var buffer = cumulation else { return }
        cumulation = nil
        defer {
            if !isClosedFlag {
                if buffer.readableBytes > 0 {
                    buffer.discardReadBytes()
                    cumulation = buffer
                }
            }
        }
        while !isClosedFlag {
            if case .sslRequestSent = machine.state {
                guard let byte = buffer.readInteger(as: UInt8.self) else { return }
                if buffer.readableBytes > 0 {
                    // Bytes after 'S' before the handshake would be injected plaintext (CVE-2021-23222).
                    perform(.closeAndFail(.unexpectedMessage("data after the SSL response", state: "TLS negotiation")), context: context)
                    return
                }
                perform(machine.sslResponse(byte), context: context)
                continue
            }
            if let tag = repeatedCommandComplete(&buffer) {
                perform(machine.received(.commandComplete(tag)), context: context)
                continue
            }
            let message: BackendMessage?
            do {
                message = try BackendMessage.decode(from: &buffer, maximumMessageSize: configuration.maximumMessageSize)
            } catch {
                perform(.closeAndFail(error), context: context)
                return
            }
            guard let message else { return }
            if case .commandComplete(let tag) = message { rememberTag(tag) }
            perform(machine.received(message), context: context)
        }
    }

    /// A CommandComplete at the front of `buffer` carrying the same tag bytes as the last one:
    /// consumes it and returns the remembered String. Otherwise, for a CommandComplete, keeps a
    /// copy of its bytes in `tagCandidate` for ``rememberTag(_:)``.
    @inline(__always)
    private func repeatedCommandComplete(_ buffer: inout ByteBuffer) -> String? {
        let r = buffer.readerIndex
        guard buffer.readableBytes >= 5, buffer.getInteger(at: r, as: UInt8.self) == UInt8(ascii: "C"),
              let length = buffer.getInteger(at: r + 1, as: Int32.self), length > 4, length <= 68,
              buffer.readableBytes >= Int(length) + 1,
              let body = buffer.getSlice(at: r + 5, length: Int(length) - 4)
        else { return nil }
        if lastTagBytes == body {
            buffer.moveReaderIndex(forwardBy: Int(length) + 1)
            return lastTag
        }
        // A copy: a slice would keep the whole read buffer alive.
        var own = ByteBufferAllocator().buffer(capacity: body.readableBytes)
        own.writeImmutableBuffer(body)
        tagCandidate = own
        return nil
    }

    /// The bytes of the CommandComplete being decoded (see ``repeatedCommandComplete(_:)``).
    private var tagCandidate: ByteBuffer?

    /// Remembers the tag of the CommandComplete just decoded with its bytes.
    private func rememberTag(_ tag: String) {
        guard let bytes = tagCandidate else { return }
        tagCandidate = nil
        lastTagBytes = bytes
        lastTag = tag
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        machine.inFlight.first?.flushRows()
        context.fireChannelReadComplete()
    }

    // MARK: actions

    @inline(__always)
    private func perform(_ action: ConnectionStateMachine<any PostgresRequest>.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .deliver(let request, let event):
            let reply = request.receive(event, cache: &cache)
            if !reply.isEmpty {
                var buf = context.channel.allocator.buffer(capacity: 32)
                for m in reply { try? m.encode(into: &buf) }
                context.write(NIOAny(buf), promise: nil)
                scheduleFlush(context)
            }
        case .complete(let request, let status):
            if status != lastStatus {
                lastStatus = status
                statusMirror.store(status.rawValue, ordering: .relaxed)
            }
            request.complete(status)
            // The finished stream no longer needs back-pressure; later responses must be read.
            if readingPaused { resumeReading() }
            if request.isExclusive { exclusiveInFlight = false }
            if !waiting.isEmpty { drainWaiting(context: context) }
        case .write(let messages):
            var buf = context.channel.allocator.buffer(capacity: 64)
            do {
                for m in messages { try m.encode(into: &buf) }
            } catch {
                shutdown(with: .protocolViolation(error), context: context, close: true)
                return
            }
            context.writeAndFlush(NIOAny(buf), promise: nil)
        case .startTLS:
            guard let sslContext else {
                shutdown(with: .tls("no TLS context"), context: context, close: true)
                return
            }
            do {
                let host = configuration.tls.serverName ?? configuration.endpoint.host
                let ssl = try configuration.effectiveTLS.makeClientHandler(context: sslContext, hostname: host)
                try context.pipeline.syncOperations.addHandler(ssl, position: .first)
            } catch {
                shutdown(with: .tls("\(error)"), context: context, close: true)
            }
        case .connected(let key, let parameters):
            startupDone = true
            startupPromise.succeed(ConnectionInfo(backendKey: key, parameters: parameters, tlsActive: machine.tlsActive))
        case .startupFailed(let failure):
            shutdown(with: failure.postgresError, context: context, close: true)
        case .notice(let fields):
            let e = PostgresServerError(fields: fields)
            if e.severity == "FATAL" || e.severity == "PANIC" {
                logger.warning("server: \(e)")
                closedError = closedError ?? .server(e)
            } else {
                logger.notice("server notice: \(e)")
            }
        case .notification(let pid, let channel, let payload):
            onNotification?(PostgresNotification(processID: pid, channel: channel, payload: payload))
        case .parameterStatus(let name, let value):
            onParameterStatus?(name, value)
        case .closeAndFail(let error):
            logger.error("closing connection after protocol violation: \(error)")
            shutdown(with: .protocolViolation(error), context: context, close: true)
        }
    }
}

/// RFC 5929 tls-server-end-point: hash of the server certificate with the hash of its signature
/// algorithm (SHA-256 for MD5/SHA-1/SHA-256, SHA-384 and SHA-512 as signed).
enum TLSServerEndPoint {
    static func hash(certificateDER der: [UInt8]) -> [UInt8] {
        switch signatureHash(der) {
        case 384: return Array(SHA384.hash(data: der))
        case 512: return Array(SHA512.hash(data: der))
        default: return Array(SHA256.hash(data: der))
        }
    }

    /// Finds the outer signatureAlgorithm OID of an X.509 certificate (minimal DER walk).
    static func signatureHash(_ der: [UInt8]) -> Int {
        var i = 0
        func readHeader() -> (tag: UInt8, length: Int)? {
            guard i + 2 <= der.count else { return nil }
            let tag = der[i]
            var len = Int(der[i + 1])
            i += 2
            if len & 0x80 != 0 {
                let n = len & 0x7F
                guard n <= 4, i + n <= der.count else { return nil }
                len = 0
                for _ in 0..<n { len = len << 8 | Int(der[i]); i += 1 }
            }
            return (tag, len)
        }
        guard readHeader()?.tag == 0x30, let tbs = readHeader(), tbs.tag == 0x30 else { return 256 }
        i += tbs.length
        guard readHeader()?.tag == 0x30, let oid = readHeader(), oid.tag == 0x06, i + oid.length <= der.count else { return 256 }
        let bytes = Array(der[i..<(i + oid.length)])
        // sha384WithRSAEncryption 1.2.840.113549.1.1.12, sha512WithRSAEncryption ...1.13,
        // ecdsa-with-SHA384 1.2.840.10045.4.3.3, ecdsa-with-SHA512 ...4.3.4
        let rsa: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01]
        let ecdsa: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03]
        if bytes.count == 9, Array(bytes.prefix(8)) == rsa {
            if bytes[8] == 12 { return 384 }
            if bytes[8] == 13 { return 512 }
        }
        if bytes.count == 8, Array(bytes.prefix(7)) == ecdsa {
            if bytes[7] == 3 { return 384 }
            if bytes[7] == 4 { return 512 }
        }
        return 256
    }
}
