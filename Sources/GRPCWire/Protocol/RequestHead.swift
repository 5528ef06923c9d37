import NIOHPACK

/// The request HEADERS of a gRPC call.
public struct RequestHead: Sendable {
    /// The `:path`, `/package.Service/Method`.
    public var path: String
    /// `:scheme` (`http` or `https`).
    public var scheme: String
    /// `:authority`.
    public var authority: String
    /// The call's timeout (`grpc-timeout`).
    public var timeout: Duration?
    /// The encoding of request messages (`grpc-encoding`).
    public var encoding: CompressionAlgorithm
    /// The encodings the caller accepts for responses (`grpc-accept-encoding`).
    public var acceptedEncodings: [CompressionAlgorithm]
    /// Custom metadata.
    public var metadata: Metadata
    /// `user-agent`.
    public var userAgent: String?

    /// Creates a request head.
    public init(
        path: String, scheme: String, authority: String, timeout: Duration? = nil,
        encoding: CompressionAlgorithm = .identity, acceptedEncodings: [CompressionAlgorithm] = [],
        metadata: Metadata = [:], userAgent: String? = nil
    ) {
        self.path = path
        self.scheme = scheme
        self.authority = authority
        self.timeout = timeout
        self.encoding = encoding
        self.acceptedEncodings = acceptedEncodings
        self.metadata = metadata
        self.userAgent = userAgent
    }

    /// Encodes the head as HTTP/2 header fields.
    public func encode() -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(8 + metadata.count)
        headers.add(name: ":method", value: "POST")
        headers.add(name: ":scheme", value: scheme)
        headers.add(name: ":path", value: path)
        headers.add(name: ":authority", value: authority)
        headers.add(name: "content-type", value: "application/grpc")
        headers.add(name: "te", value: "trailers")
        if let timeout { headers.add(name: "grpc-timeout", value: GRPCTimeout.encode(timeout)) }
        if encoding != .identity { headers.add(name: "grpc-encoding", value: encoding.name) }
        if !acceptedEncodings.isEmpty {
            headers.add(name: "grpc-accept-encoding", value: CompressionAlgorithm.acceptEncodingValue(acceptedEncodings))
        }
        if let userAgent { headers.add(name: "user-agent", value: userAgent) }
        metadata.write(into: &headers)
        return headers
    }

    /// Why a request head was rejected, with the response the server should give.
    public enum Rejection: Error, Sendable, Equatable {
        /// Not a gRPC request at all: answer with this HTTP status and close the stream.
        case http(status: Int, reason: String)
        /// A gRPC request that cannot be served: answer with this status (trailers-only).
        case grpc(RPCError)
    }

    /// Decodes and validates received request headers.
    public static func decode(_ headers: HPACKHeaders) throws(Rejection) -> RequestHead {
        var method: String?
        var path: String?
        var scheme = "http"
        var authority = ""
        var contentType: String?
        var timeoutValue: String?
        var encodingName: String?
        var acceptValue: String?
        var userAgent: String?
        for (name, value, _) in headers {
            switch name {
            case ":method": method = value
            case ":path": path = value
            case ":scheme": scheme = value
            case ":authority", "host": authority = value
            case "content-type": contentType = value
            case "grpc-timeout": timeoutValue = value
            case "grpc-encoding": encodingName = value
            case "grpc-accept-encoding": acceptValue = acceptValue.map { $0 + "," + value } ?? value
            case "user-agent": userAgent = value
            default: break
            }
        }
        guard let contentType, contentType.hasPrefix("application/grpc") else {
            throw .http(status: 415, reason: "content-type must be application/grpc")
        }
        guard method == "POST" else { throw .http(status: 405, reason: ":method must be POST") }
        guard let path, path.hasPrefix("/") else {
            throw .grpc(RPCError(code: .unimplemented, message: "missing or malformed :path"))
        }
        var timeout: Duration?
        if let timeoutValue {
            guard let parsed = GRPCTimeout.parse(timeoutValue) else {
                throw .grpc(RPCError(code: .internal, message: "malformed grpc-timeout '\(timeoutValue)'"))
            }
            timeout = parsed
        }
        var encoding = CompressionAlgorithm.identity
        if let encodingName {
            guard let algorithm = CompressionAlgorithm(wireName: encodingName) else {
                var error = RPCError(
                    code: .unimplemented, message: "message encoding '\(encodingName)' is not supported")
                error.metadata.add(
                    "grpc-accept-encoding", CompressionAlgorithm.acceptEncodingValue(CompressionAlgorithm.supported))
                throw .grpc(error)
            }
            encoding = algorithm
        }
        let metadata: Metadata
        do {
            metadata = try Metadata.fromHeaders(headers)
        } catch {
            throw .grpc(error)
        }
        return RequestHead(
            path: path, scheme: scheme, authority: authority, timeout: timeout, encoding: encoding,
            acceptedEncodings: acceptValue.map(CompressionAlgorithm.parseAcceptEncoding) ?? [],
            metadata: metadata, userAgent: userAgent)
    }
}
