import NIOCore
import NIOHTTP1
import NIOPosix

/// A response read by the chat client's HTTP connection.
public struct HTTPClientResponse: Sendable {
    /// Status code.
    public var status: Int
    /// Response headers.
    public var headers: HTTPHeaders
    /// The whole body.
    public var body: ByteBuffer
}

/// A minimal HTTP/1.1 client connection with keep-alive and pipelining, reconnecting when the
/// server closes. Enough for the chat API; not a general-purpose HTTP client.
actor HTTPConnection {
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private var channel: (any Channel)?

    init(host: String, port: Int, group: any EventLoopGroup) {
        self.host = host
        self.port = port
        self.group = group
    }

    func execute(method: HTTPMethod, path: String, headers: HTTPHeaders, body: ByteBuffer?) async throws -> HTTPClientResponse {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        head.headers.replaceOrAdd(name: "Host", value: "\(host):\(port)")
        head.headers.replaceOrAdd(name: "Content-Length", value: String(body?.readableBytes ?? 0))
        for attempt in 0..<2 {
            let channel = try await connectedChannel()
            let promise = channel.eventLoop.makePromise(of: HTTPClientResponse.self)
            channel.writeAndFlush(PendingHTTPRequest(head: head, body: body, promise: promise), promise: nil)
            do {
                let response = try await promise.futureResult.get()
                if response.headers["connection"].first?.lowercased() == "close" { close() }
                return response
            } catch {
                // A kept-alive connection may have been closed by the server between requests: retry once.
                close()
                if attempt == 1 { throw ChatClientError.transport(String(describing: error)) }
            }
        }
        throw ChatClientError.connectionClosed
    }

    private func connectedChannel() async throws -> any Channel {
        if let channel, channel.isActive { return channel }
        do {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(HTTPResponseCollector())
                    }
                }
                .connect(host: host, port: port).get()
            self.channel = channel
            return channel
        } catch {
            throw ChatClientError.transport("connect to \(host):\(port) failed: \(error)")
        }
    }

    func close() {
        channel?.close(promise: nil)
        channel = nil
    }
}

struct PendingHTTPRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var promise: EventLoopPromise<HTTPClientResponse>
}

/// Matches responses to requests in order (HTTP/1.1 pipelining).
final class HTTPResponseCollector: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = PendingHTTPRequest
    typealias OutboundOut = HTTPClientRequestPart

    private var waiting = CircularBuffer<EventLoopPromise<HTTPClientResponse>>()
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiting.append(request.promise)
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let body = request.body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let head, !waiting.isEmpty else {
                context.close(promise: nil)
                return
            }
            let promise = waiting.removeFirst()
            promise.succeed(HTTPClientResponse(status: Int(head.status.code), headers: head.headers, body: body))
            self.head = nil
            body = ByteBuffer()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ChatClientError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        while let promise = waiting.popFirst() { promise.fail(error) }
    }
}
