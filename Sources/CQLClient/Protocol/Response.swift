import NIOCore
import WireCore

/// A message the server sends.
public enum CQLResponse: Sendable {
    case error(CQLServerError)
    case ready
    /// The server requires authentication with the named authenticator class.
    case authenticate(authenticator: String)
    case supported([String: [String]])
    case result(CQLResult)
    case event(CQLEvent)
    case authChallenge(token: [UInt8]?)
    case authSuccess(token: [UInt8]?)
}

/// A decoded response frame: the message plus the envelope fields that flags announce.
public struct CQLResponseFrame: Sendable {
    public var stream: Int16
    /// Tracing session id when the request asked for tracing.
    public var tracingID: [UInt8]?
    /// Server warnings (e.g. large batches, tombstones).
    public var warnings: [String]
    public var customPayload: [String: [UInt8]]?
    public var message: CQLResponse

    /// Decodes an (already decompressed) response frame.
    ///
    /// - Parameter knownMetadata: result metadata to use when the server skipped it.
    public static func decode(_ frame: CQLFrame, version: CQLProtocolVersion,
                              knownMetadata: CQLRowsMetadata? = nil) throws(WireDecodingError) -> CQLResponseFrame {
        var body = frame.body
        let flags = frame.header.flags
        var tracingID: [UInt8]?
        var warnings: [String] = []
        var customPayload: [String: [UInt8]]?
        if flags.contains(.tracing) { tracingID = try body.readCQLUUIDBytes(field: "tracing id") }
        if flags.contains(.warning) { warnings = try body.readCQLStringList(field: "warnings") }
        if flags.contains(.customPayload) { customPayload = try body.readCQLBytesMap(field: "custom payload") }
        let message: CQLResponse
        switch frame.header.opcode {
        case .error: message = .error(try CQLServerError.decode(from: &body, version: version))
        case .ready: message = .ready
        case .authenticate: message = .authenticate(authenticator: try body.readCQLString(field: "authenticator"))
        case .supported: message = .supported(try body.readCQLStringMultimap(field: "supported options"))
        case .result: message = .result(try CQLResult.decode(from: &body, version: version, knownMetadata: knownMetadata))
        case .event: message = .event(try CQLEvent.decode(from: &body))
        case .authChallenge: message = .authChallenge(token: try body.readCQLBytes(field: "auth token").map { Array($0.readableBytesView) })
        case .authSuccess: message = .authSuccess(token: try body.readCQLBytes(field: "auth token").map { Array($0.readableBytesView) })
        default:
            throw .invalidValue(field: "opcode", reason: "\(frame.header.opcode) is not a response")
        }
        return CQLResponseFrame(stream: frame.header.stream, tracingID: tracingID, warnings: warnings,
                                customPayload: customPayload, message: message)
    }
}
