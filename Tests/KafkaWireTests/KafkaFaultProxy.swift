import Foundation
import KafkaWire
import NIOCore
import NIOPosix
import WireCore

/// A loopback TCP proxy in front of one Kafka broker that understands just enough of the framing
/// (size, API key, correlation id) to inject faults into Produce traffic:
/// - swallow a Produce request (never forward it: the client times out),
/// - drop the connection instead of forwarding a Produce response (the broker has appended the
///   records, the client never hears so: the "lost response" case idempotence exists for),
/// - hold every Produce response for a while (so several requests are in flight at once).
/// - rewrite a Produce request's record batch (e.g. its sequence number: a genuine
///   OUT_OF_ORDER_SEQUENCE_NUMBER from the broker),
/// - stop answering altogether (every request of every API is swallowed until ``resumeAnswering()``).
/// It counts Produce requests, responses and the most requests outstanding at once.
final class KafkaFaultProxy: @unchecked Sendable {
    enum ResponseAction { case forward, dropConnection }
    enum RequestAction: Equatable {
        case forward, swallow
        /// Forward it this much later, behind the requests sent after it: the broker then processes
        /// them first (as noida-db sometimes does with pipelined requests). Responses still reach the
        /// client in request order (Kafka connections answer in order).
        case delay(TimeAmount)
    }

    struct Stats {
        var produceRequests = 0
        var produceResponses = 0
        var droppedResponses = 0
        var swallowedRequests = 0
        var outstanding = 0
        var maxOutstanding = 0
        var connections = 0
        /// Requests (any API) swallowed while not answering.
        var unanswered = 0
        /// Produce requests swallowed while not answering.
        var unansweredProduce = 0
        /// Produce requests whose record batch was rewritten.
        var rewritten = 0
        /// Produce requests forwarded late (``RequestAction/delay(_:)``).
        var delayedRequests = 0
    }

    /// While true, every request is swallowed (a broker that stopped answering).
    private var _silent = false
    var isSilent: Bool { lock.withLock { _silent } }
    /// Swallows every request from now on (connections stay open; clients time out).
    func stopAnswering() { lock.withLock { _silent = true } }
    /// Forwards requests again.
    func resumeAnswering() { lock.withLock { _silent = false } }

    /// Rewrites the record batch of Produce request number `index` in place (nil: leave it); it gets
    /// the frame and the batch's start offset in it. The CRC is fixed up afterwards.
    var rewriteProduceBatch: (@Sendable (Int, inout ByteBuffer, Int) -> Bool)?

    let upstream: KafkaBrokerAddress
    private let lock = NSLock()
    private var _stats = Stats()
    private var serverChannel: (any Channel)?
    /// Decides per Produce request (0-based index over the proxy's lifetime).
    let onProduceRequest: @Sendable (Int) -> RequestAction
    /// Decides per Produce response (0-based index).
    let onProduceResponse: @Sendable (Int) -> ResponseAction
    /// Delay before forwarding each Produce response.
    let responseDelay: TimeAmount

    init(upstream: KafkaBrokerAddress, responseDelay: TimeAmount = .zero,
         onProduceRequest: @escaping @Sendable (Int) -> RequestAction = { _ in .forward },
         onProduceResponse: @escaping @Sendable (Int) -> ResponseAction = { _ in .forward }) {
        self.upstream = upstream
        self.responseDelay = responseDelay
        self.onProduceRequest = onProduceRequest
        self.onProduceResponse = onProduceResponse
    }

    var stats: Stats { lock.withLock { _stats } }
    func update<T>(_ body: (inout Stats) -> T) -> T { lock.withLock { body(&_stats) } }

    /// The proxy's own address once started.
    private(set) var address = KafkaBrokerAddress(host: "127.0.0.1", port: 0)

    /// A client configuration that reaches the broker only through this proxy.
    func clientConfiguration() -> KafkaClientConfiguration {
        var c = KafkaClientConfiguration(bootstrapServers: [address])
        let upstream = self.upstream, me = address
        c.addressTranslator = { a in a == upstream ? me : a }
        return c
    }

    func start() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] child in
                ClientBootstrap(group: child.eventLoop)
                    .channelInitializer { up in
                        up.eventLoop.makeCompletedFuture {
                            try up.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                            try up.pipeline.syncOperations.addHandler(UpstreamHandler(proxy: self, client: child))
                        }
                    }
                    .connect(host: upstream.host, port: upstream.port)
                    .flatMapThrowing { up in
                        try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                        try child.pipeline.syncOperations.addHandler(ClientSideHandler(proxy: self, upstream: up))
                        self.update { $0.connections += 1 }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        serverChannel = server
        address = KafkaBrokerAddress(host: "127.0.0.1", port: server.localAddress!.port!)
    }

    func stop() async {
        try? await serverChannel?.close()
    }

    /// Offset (from the frame's reader index) of the first v2 record batch in a Produce request:
    /// magic 2 at +16 and a CRC-32C at +17 that matches the bytes from +21 to the batch's end.
    static func recordBatchStart(in frame: ByteBuffer) -> Int? {
        let n = frame.readableBytes
        guard n > 61 else { return nil }
        return frame.withUnsafeReadableBytes { raw -> Int? in
            for s in 0..<(n - 61) where raw[s + 16] == 2 {
                let length = Int(UInt32(raw[s + 8]) << 24 | UInt32(raw[s + 9]) << 16 | UInt32(raw[s + 10]) << 8 | UInt32(raw[s + 11]))
                guard length >= 49, s + 12 + length <= n else { continue }
                let crc = UInt32(raw[s + 17]) << 24 | UInt32(raw[s + 18]) << 16 | UInt32(raw[s + 19]) << 8 | UInt32(raw[s + 20])
                if CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(s + 21)..<(s + 12 + length)])) == crc { return s }
            }
            return nil
        }
    }

    /// Recomputes the CRC-32C of the record batch at `batchStart`.
    static func fixCRC(of frame: inout ByteBuffer, batchStart s: Int) {
        let base = frame.readerIndex
        let length = Int(frame.getInteger(at: base + s + 8, as: Int32.self)!)
        let crc = frame.withUnsafeReadableBytes { raw in CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(s + 21)..<(s + 12 + length)])) }
        frame.setInteger(crc, at: base + s + 17)
    }

    /// Produce correlation ids per upstream connection.
    final class Pending: @unchecked Sendable {
        var produce: Set<Int32> = []
        /// Correlation ids in the order the client sent them; responses are forwarded in this order.
        var order: [Int32] = []
        /// Responses that arrived before an earlier request's.
        var held: [Int32: ByteBuffer] = [:]
    }

    struct FrameDecoder: ByteToMessageDecoder {
        typealias InboundOut = ByteBuffer
        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self), buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
            context.fireChannelRead(Self.wrapInboundOut(buffer.readSlice(length: 4 + Int(size))!))
            return .continue
        }
    }

    /// Client -> broker direction.
    final class ClientSideHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let proxy: KafkaFaultProxy
        let upstream: any Channel
        init(proxy: KafkaFaultProxy, upstream: any Channel) {
            self.proxy = proxy
            self.upstream = upstream
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var frame = Self.unwrapInboundIn(data)
            let apiKey = frame.getInteger(at: frame.readerIndex + 4, as: Int16.self)
            let correlation = frame.getInteger(at: frame.readerIndex + 8, as: Int32.self) ?? 0
            if proxy.isSilent {
                proxy.update { s in s.unanswered += 1; if apiKey == 0 { s.unansweredProduce += 1 } }
                return
            }
            if apiKey == 0 {
                let index = proxy.update { s -> Int in s.produceRequests += 1; return s.produceRequests - 1 }
                if let rewrite = proxy.rewriteProduceBatch, let start = KafkaFaultProxy.recordBatchStart(in: frame),
                   rewrite(index, &frame, start) {
                    KafkaFaultProxy.fixCRC(of: &frame, batchStart: start)
                    proxy.update { $0.rewritten += 1 }
                }
                let action = proxy.onProduceRequest(index)
                if action == .swallow {
                    proxy.update { $0.swallowedRequests += 1 }
                    return
                }
                proxy.update { s in s.outstanding += 1; s.maxOutstanding = max(s.maxOutstanding, s.outstanding) }
                UpstreamHandler.pending(of: upstream).produce.insert(correlation)
                if case .delay(let delay) = action {
                    proxy.update { $0.delayedRequests += 1 }
                    UpstreamHandler.pending(of: upstream).order.append(correlation)
                    let upstream = self.upstream, delayed = frame
                    context.eventLoop.scheduleTask(in: delay) { upstream.writeAndFlush(delayed, promise: nil) }
                    return
                }
            }
            UpstreamHandler.pending(of: upstream).order.append(correlation)
            upstream.writeAndFlush(frame, promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            upstream.close(promise: nil)
        }
    }

    /// Broker -> client direction.
    final class UpstreamHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let proxy: KafkaFaultProxy
        let client: any Channel
        let pending = Pending()
        init(proxy: KafkaFaultProxy, client: any Channel) {
            self.proxy = proxy
            self.client = client
        }

        static func pending(of channel: any Channel) -> Pending {
            try! channel.pipeline.syncOperations.handler(type: UpstreamHandler.self).pending
        }

        /// Responses leave in the order they came (the client matches them FIFO), delayed ones included.
        var tail: EventLoopFuture<Void>?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = Self.unwrapInboundIn(data)
            let correlation = frame.getInteger(at: frame.readerIndex + 4, as: Int32.self) ?? 0
            pending.held[correlation] = frame
            while let head = pending.order.first, let next = pending.held.removeValue(forKey: head) {
                pending.order.removeFirst()
                forward(next, correlation: head, context: context)
            }
        }

        func forward(_ frame: ByteBuffer, correlation: Int32, context: ChannelHandlerContext) {
            let client = self.client, upstream = context.channel, proxy = self.proxy
            var action = ResponseAction.forward
            var delay = TimeAmount.zero
            if pending.produce.remove(correlation) != nil {
                let index = proxy.update { s -> Int in s.produceResponses += 1; s.outstanding -= 1; return s.produceResponses - 1 }
                action = proxy.onProduceResponse(index)
                delay = proxy.responseDelay
            }
            let previous = tail ?? context.eventLoop.makeSucceededVoidFuture()
            let chosenAction = action, chosenDelay = delay
            tail = previous.flatMap {
                let wait: EventLoopFuture<Void> = chosenDelay > .zero
                    ? upstream.eventLoop.scheduleTask(in: chosenDelay) {}.futureResult
                    : upstream.eventLoop.makeSucceededVoidFuture()
                return wait.map {
                    switch chosenAction {
                    case .forward:
                        client.writeAndFlush(frame, promise: nil)
                    case .dropConnection:
                        proxy.update { $0.droppedResponses += 1 }
                        client.close(promise: nil)
                        upstream.close(promise: nil)
                    }
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            // Requests lost with this connection are no longer outstanding.
            let lost = pending.produce.count
            pending.produce.removeAll()
            proxy.update { $0.outstanding -= lost }
            client.close(promise: nil)
        }
    }
}
