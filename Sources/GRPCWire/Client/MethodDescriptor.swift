import NIOCore
import SwiftProtobuf

/// The four kinds of gRPC call.
public enum CallKind: Sendable, Hashable {
    /// One request, one response.
    case unary
    /// One request, a stream of responses.
    case serverStreaming
    /// A stream of requests, one response.
    case clientStreaming
    /// A stream of requests and a stream of responses.
    case bidirectionalStreaming
}

/// A typed gRPC method: its service and method names, call kind and how its messages are
/// (de)serialized. Declare one constant per method; client stubs and server handlers are typed by it.
///
/// ```swift
/// enum Echo {
///     static let unary = MethodDescriptor<EchoMsg, EchoMsg>(
///         service: "peers.echo.Echo", method: "Unary", kind: .unary)
/// }
/// ```
public struct MethodDescriptor<Request: Sendable, Response: Sendable>: Sendable {
    /// The fully qualified service name, e.g. `grpc.health.v1.Health`.
    public let service: String
    /// The method name, e.g. `Check`.
    public let method: String
    /// The call kind.
    public let kind: CallKind
    /// The HTTP/2 `:path`, `/service/method`.
    public let path: String

    let serializeRequest: @Sendable (Request) throws -> ByteBuffer
    let deserializeRequest: @Sendable (ByteBuffer) throws -> Request
    let serializeResponse: @Sendable (Response) throws -> ByteBuffer
    let deserializeResponse: @Sendable (ByteBuffer) throws -> Response

    /// Creates a descriptor with explicit serializers, for any message format.
    public init<RS: MessageSerializer, RD: MessageDeserializer, SS: MessageSerializer, SD: MessageDeserializer>(
        service: String, method: String, kind: CallKind,
        requestSerializer: RS, requestDeserializer: RD,
        responseSerializer: SS, responseDeserializer: SD
    ) where RS.Message == Request, RD.Message == Request, SS.Message == Response, SD.Message == Response {
        self.service = service
        self.method = method
        self.kind = kind
        self.path = "/\(service)/\(method)"
        self.serializeRequest = { try requestSerializer.serialize($0) }
        self.deserializeRequest = { try requestDeserializer.deserialize($0) }
        self.serializeResponse = { try responseSerializer.serialize($0) }
        self.deserializeResponse = { try responseDeserializer.deserialize($0) }
    }

    /// The fully qualified method name, `service/method`.
    public var fullName: String { "\(service)/\(method)" }
}

extension MethodDescriptor where Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message {
    /// Creates a descriptor for swift-protobuf messages (binary protobuf encoding).
    public init(service: String, method: String, kind: CallKind) {
        self.init(
            service: service, method: method, kind: kind,
            requestSerializer: ProtobufSerializer<Request>(), requestDeserializer: ProtobufDeserializer<Request>(),
            responseSerializer: ProtobufSerializer<Response>(), responseDeserializer: ProtobufDeserializer<Response>())
    }
}
