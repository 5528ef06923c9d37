import WireCore
import NIOHPACK

/// The response HEADERS of a gRPC call (sent before the first response message).
public struct ResponseHead: Sendable {
    /// The encoding of response messages (`grpc-encoding`).
    public var encoding: CompressionAlgorithm
    /// The encodings the server accepts (`grpc-accept-encoding`).
    public var acceptedEncodings: [CompressionAlgorithm]
    /// Custom initial metadata.
    public var metadata: Metadata

    /// Creates a response head.
    public init(
        encoding: CompressionAlgorithm = .identity, acceptedEncodings: [CompressionAlgorithm] = [],
        metadata: Metadata = [:]
    ) {
        self.encoding = encoding
        self.acceptedEncodings = acceptedEncodings
        self.metadata = metadata
    }

    /// Encodes the head as HTTP/2 header fields.
    public func encode() -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.add(name: ":status", value: "200")
        headers.add(name: "content-type", value: "application/grpc")
        if encoding != .identity { headers.add(name: "grpc-encoding", value: encoding.name) }
        if !acceptedEncodings.isEmpty {
            headers.add(name: "grpc-accept-encoding", value: CompressionAlgorithm.acceptEncodingValue(acceptedEncodings))
        }
        metadata.write(into: &headers)
        return headers
    }
}

/// The trailers of a gRPC call: status, message, details and trailing metadata.
public struct ResponseTrailers: Sendable {
    /// The final status.
    public var status: Status
    /// `grpc-status-details-bin` bytes.
    public var details: [UInt8]?
    /// Custom trailing metadata.
    public var metadata: Metadata

    /// Creates trailers.
    public init(status: Status, details: [UInt8]? = nil, metadata: Metadata = [:]) {
        self.status = status
        self.details = details
        self.metadata = metadata
    }

    /// Creates trailers carrying an error.
    public init(error: RPCError) {
        self.init(status: Status(code: error.code, message: error.message), details: error.details, metadata: error.metadata)
    }

    /// The error these trailers describe, nil when the status is OK.
    public var error: RPCError? {
        status.code == .ok
            ? nil : RPCError(code: status.code, message: status.message, metadata: metadata, details: details)
    }

    /// Encodes the trailers; `trailersOnly` adds `:status` and `content-type` for a response
    /// that has no HEADERS before them.
    public func encode(trailersOnly: Bool = false) -> HPACKHeaders {
        var headers = HPACKHeaders()
        if trailersOnly {
            headers.add(name: ":status", value: "200")
            headers.add(name: "content-type", value: "application/grpc")
        }
        headers.add(name: "grpc-status", value: String(status.code.rawValue))
        if !status.message.isEmpty {
            headers.add(name: "grpc-message", value: GRPCMessageEncoding.percentEncode(status.message))
        }
        if let details {
            headers.add(name: "grpc-status-details-bin", value: Base64.encode(details, padding: false))
        }
        metadata.write(into: &headers)
        return headers
    }

    /// Decodes received trailers (or a trailers-only response). A missing `grpc-status` becomes
    /// an ``StatusCode/internal`` status naming what was missing.
    public static func decode(_ headers: HPACKHeaders) -> ResponseTrailers {
        var code: StatusCode?
        var message = ""
        var details: [UInt8]?
        for (name, value, _) in headers {
            switch name {
            case "grpc-status": code = StatusCode(headerValue: value)
            case "grpc-message": message = GRPCMessageEncoding.percentDecode(value)
            case "grpc-status-details-bin": details = Base64.decode(value, requirePadding: false)
            default: break
            }
        }
        let metadata = (try? Metadata.fromHeaders(headers)) ?? Metadata()
        guard let code else {
            return ResponseTrailers(
                status: Status(code: .internal, message: "response trailers have no grpc-status"),
                metadata: metadata)
        }
        return ResponseTrailers(status: Status(code: code, message: message), details: details, metadata: metadata)
    }
}
