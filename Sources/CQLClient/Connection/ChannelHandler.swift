import Logging
import NIOCore
import WireCore

/// A request travelling down the pipeline to ``CQLChannelHandler``.
struct CQLOutboundRequest {
    let request: any CQLRequest
    let tracing: Bool
    let customPayload: [String: [UInt8]]?
    /// Result metadata used when the server skips it (EXECUTE with skip_metadata).
    let knownMetadata: CQLRowsMetadata?
    let promise: EventLoopPromise<CQLResponseFrame>
}

/// Errors of a single connection.
public enum CQLConnectionError: Error, Sendable, CustomStringConvertible {
    /// The connection is closed; the request may or may not have been executed.
    case closed
    /// The server sent bytes that violate the protocol; the connection was closed.
    case protocolViolation(String)
    /// The request did not complete before its timeout.
    case timedOut
    /// No connection to any host could be used.
    case noHostAvailable([String: String])

    public var description: String {
        switch self {
        case .closed: "the CQL connection is closed"
        case .protocolViolation(let m): "protocol violation, connection closed: \(m)"
        case .timedOut: "the request timed out"
        case .noHostAvailable(let errors):
            "no host available: " + errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        }
    }
}

/// Runs framing (v4 frames, v5 segments), compression and stream-id multiplexing for one
/// connection. Requests are written as ``CQLOutboundRequest``; responses complete their promise.
final class CQLChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = CQLOutboundRequest
    typealias OutboundOut = ByteBuffer

    private struct InFlight {
        let promise: EventLoopPromise<CQLResponseFrame>
        let knownMetadata: CQLRowsMetadata?
    }

    let version: CQLProtocolVersion
    private var streams: CQLStreamIDPool
    private var inFlight: [Int16: InFlight] = [:]
    private var waiting: CircularBuffer<CQLOutboundRequest> = []
    private var inbound: ByteBuffer?
    private var segmentCodec: CQLSegmentCodec?
    private var assembler = CQLSegmentFrameAssembler()
    private var frameCompressor: CQLFrameCompressor?
    /// Encoded frames awaiting the next flush (wrapped into segments on v5).
    private var pendingFrames: ByteBuffer?
    private var pendingFrameCount = 0
    private var context: ChannelHandlerContext?
    private var closedError: (any Error)?
    private let onEvent: @Sendable (CQLEvent) -> Void
    private let logger: Logger

    init(version: CQLProtocolVersion, maxStreams: Int = CQLStreamIDPool.capacity, logger: Logger,
         onEvent: @escaping @Sendable (CQLEvent) -> Void) {
        self.version = version
        self.streams = CQLStreamIDPool(capacity: maxStreams)
        self.logger = logger
        self.onEvent = onEvent
    }

    var inFlightCount: Int { self.inFlight.count + self.waiting.count }

    // MARK: framing switches (called on the event loop by the connection during the handshake)

    /// v5: from now on frames travel in segments, LZ4-compressed when negotiated.
    func enableSegments(compressed: Bool) {
        self.segmentCodec = CQLSegmentCodec(compressed: compressed)
    }

    /// v5: switch to segments as soon as the answer to STARTUP (READY or AUTHENTICATE) arrives,
    /// before any later byte is read.
    func armSegmentSwitch(compressed: Bool) {
        self.segmentSwitch = compressed
    }

    private var segmentSwitch: Bool?

    /// v4: compress every following frame body.
    func enableFrameCompression(_ algorithm: CQLCompressionAlgorithm) {
        self.frameCompressor = CQLFrameCompressor(algorithm: algorithm)
    }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(self.closedError ?? CQLConnectionError.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("CQL connection error", metadata: ["error": "\(error)"])
        self.closedError = self.closedError ?? error
        self.failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        let inFlight = self.inFlight
        self.inFlight.removeAll()
        for (_, entry) in inFlight { entry.promise.fail(error) }
        while let request = self.waiting.popFirst() { request.promise.fail(error) }
    }

    private func violation(_ context: ChannelHandlerContext, _ message: String) {
        let error = CQLConnectionError.protocolViolation(message)
        self.logger.warning("CQL protocol violation, closing connection", metadata: ["reason": "\(message)"])
        self.closedError = error
        self.failAll(error)
        context.close(promise: nil)
    }

    // MARK: outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        promise?.succeed()
        if let error = self.closedError {
            request.promise.fail(error)
            return
        }
        if let stream = self.streams.acquire() {
            self.send(request, stream: stream, context: context)
        } else {
            self.waiting.append(request)
        }
    }

    private func send(_ request: CQLOutboundRequest, stream: Int16, context: ChannelHandlerContext) {
        self.inFlight[stream] = InFlight(promise: request.promise, knownMetadata: request.knownMetadata)
        var frame = context.channel.allocator.buffer(capacity: 128)
        request.request.encodeFrame(stream: stream, version: self.version, tracing: request.tracing,
                                    customPayload: request.customPayload, into: &frame)
        if let compressor = self.frameCompressor, request.request.opcode != .startup, request.request.opcode != .options {
            do {
                var plain = frame
                guard let decoded = try CQLFrame.decode(from: &plain) else { return }
                frame.clear()
                try compressor.compressFrame(decoded).encode(into: &frame)
            } catch {
                self.inFlight.removeValue(forKey: stream)
                self.streams.release(stream)
                request.promise.fail(error)
                return
            }
        }
        if self.pendingFrames == nil {
            self.pendingFrames = frame
        } else {
            self.pendingFrames!.writeBuffer(&frame)
        }
        self.pendingFrameCount += 1
    }

    func flush(context: ChannelHandlerContext) {
        guard var frames = self.pendingFrames else { return }
        self.pendingFrames = nil
        self.pendingFrameCount = 0
        if let codec = self.segmentCodec {
            var out = context.channel.allocator.buffer(capacity: frames.readableBytes + 16)
            do {
                // pack whole frames into self-contained segments; a frame larger than one segment
                // goes out alone as a run of non-self-contained segments
                var batchStart = frames.readerIndex
                var cursor = frames
                while cursor.readableBytes > 0 {
                    let frameStart = cursor.readerIndex
                    let length = Int(cursor.getInteger(at: frameStart + 5, as: Int32.self)!) + CQLFrameHeader.size
                    if frameStart + length - batchStart > CQLSegmentCodec.maxPayloadLength, frameStart > batchStart {
                        try codec.encode(frames.getSlice(at: batchStart, length: frameStart - batchStart)!, into: &out)
                        batchStart = frameStart
                    }
                    cursor.moveReaderIndex(forwardBy: length)
                }
                if cursor.readerIndex > batchStart {
                    try codec.encode(frames.getSlice(at: batchStart, length: cursor.readerIndex - batchStart)!, into: &out)
                }
            } catch {
                self.errorCaught(context: context, error: error)
                return
            }
            frames = out
        }
        context.writeAndFlush(self.wrapOutboundOut(frames), promise: nil)
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        if self.inbound == nil {
            self.inbound = bytes
        } else {
            self.inbound!.writeBuffer(&bytes)
        }
        self.drain(context: context)
    }

    private func drain(context: ChannelHandlerContext) {
        while self.closedError == nil, var buffer = self.inbound, buffer.readableBytes > 0 {
            self.inbound = nil
            var frames: [CQLFrame] = []
            do {
                if let codec = self.segmentCodec {
                    guard let segment = try codec.decodeSegment(from: &buffer) else {
                        self.inbound = buffer
                        return
                    }
                    frames = try self.assembler.append(segment)
                } else {
                    guard let frame = try CQLFrame.decode(from: &buffer) else {
                        self.inbound = buffer
                        return
                    }
                    frames = [frame]
                }
            } catch {
                self.violation(context, "\(error)")
                return
            }
            if buffer.readableBytes > 0 {
                buffer.discardReadBytes()
                self.inbound = buffer
            }
            for frame in frames {
                // a frame may switch the framing (v5 READY/AUTHENTICATE) for the remaining bytes
                self.handle(frame, context: context)
                if self.closedError != nil { return }
            }
        }
    }

    private func handle(_ frame: CQLFrame, context: ChannelHandlerContext) {
        var frame = frame
        guard frame.header.isResponse else {
            self.violation(context, "received a request frame (\(frame.header.opcode))")
            return
        }
        if frame.header.flags.contains(.compression) {
            guard let compressor = self.frameCompressor else {
                self.violation(context, "compressed frame without negotiated compression")
                return
            }
            do { frame = try compressor.decompressFrame(frame) } catch {
                self.violation(context, "\(error)")
                return
            }
        }
        let stream = frame.header.stream
        if let compressed = self.segmentSwitch, frame.header.opcode == .ready || frame.header.opcode == .authenticate {
            self.segmentSwitch = nil
            self.enableSegments(compressed: compressed)
        }
        if stream < 0 {
            guard frame.header.opcode == .event else {
                self.violation(context, "negative stream id \(stream) on a \(frame.header.opcode) frame")
                return
            }
            do {
                if case .event(let event) = try CQLResponseFrame.decode(frame, version: self.version).message {
                    self.onEvent(event)
                }
            } catch {
                self.violation(context, "malformed EVENT: \(error)")
            }
            return
        }
        guard let entry = self.inFlight.removeValue(forKey: stream) else {
            self.violation(context, "response for stream \(stream), which has no request in flight")
            return
        }
        // during negotiation a server answers an unsupported version with its own version number
        let version = CQLProtocolVersion(rawValue: frame.header.version) ?? self.version
        do {
            let response = try CQLResponseFrame.decode(frame, version: min(version, self.version), knownMetadata: entry.knownMetadata)
            self.releaseStream(stream, context: context)
            entry.promise.succeed(response)
        } catch {
            entry.promise.fail(CQLConnectionError.protocolViolation("\(error)"))
            self.violation(context, "malformed \(frame.header.opcode) body: \(error)")
        }
    }

    private func releaseStream(_ stream: Int16, context: ChannelHandlerContext) {
        self.streams.release(stream)
        if let next = self.waiting.popFirst(), let id = self.streams.acquire() {
            self.send(next, stream: id, context: context)
            self.flush(context: context)
        }
    }
}
