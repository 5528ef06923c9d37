/// How a string or byte field's length is encoded on the wire.
///
/// Every protocol in Wirestack uses one of these shapes:
/// - ``int16`` / ``int32``: a big-endian signed length; `-1` means null (Kafka classic strings and
///   bytes, CQL `[string]`/`[bytes]`, PostgreSQL field lengths).
/// - ``compact``: an unsigned varint holding `length + 1`; `0` means null (Kafka flexible versions).
/// - ``varint``: a ZigZag signed varint; `-1` means null (Kafka record keys, values and headers).
/// - ``unsignedVarint``: a plain unsigned varint, never null (protobuf length-delimited fields).
public enum LengthPrefix: Sendable, Hashable {
    case int16
    case int32
    case compact
    case varint
    case unsignedVarint

    /// Whether this prefix can encode a null value.
    public var supportsNull: Bool {
        self != .unsignedVarint
    }
}

/// Default upper bound for a single length-prefixed field: 64 MiB.
///
/// Every reader takes a `maxLength`; this is the value used when the caller does not choose one.
public let defaultMaxFieldLength = 64 * 1024 * 1024
