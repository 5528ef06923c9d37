import struct Foundation.Date
import struct Foundation.UUID
import NIOCore

/// A Swift type with a direct CQL representation. Rows decode into these without going through
/// `Codable` machinery, and they can be bound as statement values.
public protocol CQLValueConvertible: Sendable {
    /// Creates the value from a decoded CQL value (never `.null`; NULL maps to `Optional.none`).
    init(cqlValue: CQLValue, context: String) throws(CQLTypeError)
    /// The CQL value to bind.
    var cqlValue: CQLValue { get }
}

@usableFromInline
func mismatch<T>(_: T.Type, _ value: CQLValue, _ context: String) -> CQLTypeError {
    .typeMismatch(expected: "\(T.self)", found: value.kindName, context: context)
}

extension Bool: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        guard case .boolean(let b) = cqlValue else { throw mismatch(Self.self, cqlValue, context) }
        self = b
    }
    public var cqlValue: CQLValue { .boolean(self) }
}

extension String: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        switch cqlValue {
        case .text(let s), .ascii(let s): self = s
        case .inet(let a): self = a.description
        case .varint(let v): self = v.description
        case .decimal(let d): self = d.description
        default: throw mismatch(Self.self, cqlValue, context)
        }
    }
    public var cqlValue: CQLValue { .text(self) }
}

extension FixedWidthInteger where Self: SignedInteger {
    @usableFromInline
    static func fromCQL(_ cqlValue: CQLValue, context: String) throws(CQLTypeError) -> Self {
        switch cqlValue {
        case .timestamp(let t): return try checked(t.millisecondsSinceEpoch, context)
        case .time(let t): return try checked(t.nanosecondsSinceMidnight, context)
        default:
            guard let v = cqlValue.integerValue else { throw mismatch(Self.self, cqlValue, context) }
            return try checked(v, context)
        }
    }

    @usableFromInline
    static func checked(_ v: Int64, _ context: String) throws(CQLTypeError) -> Self {
        guard let r = Self(exactly: v) else { throw .outOfRange(value: String(v), type: "\(Self.self)", context: context) }
        return r
    }
}

extension Int8: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) { self = try .fromCQL(cqlValue, context: context) }
    public var cqlValue: CQLValue { .tinyint(self) }
}
extension Int16: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) { self = try .fromCQL(cqlValue, context: context) }
    public var cqlValue: CQLValue { .smallint(self) }
}
extension Int32: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) { self = try .fromCQL(cqlValue, context: context) }
    public var cqlValue: CQLValue { .int(self) }
}
extension Int64: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) { self = try .fromCQL(cqlValue, context: context) }
    public var cqlValue: CQLValue { .bigint(self) }
}
/// `Int` binds as `bigint`; prepared statements convert it to the column's integer type.
extension Int: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) { self = try .fromCQL(cqlValue, context: context) }
    public var cqlValue: CQLValue { .bigint(Int64(self)) }
}

extension Double: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        switch cqlValue {
        case .double(let d): self = d
        case .float(let f): self = Double(f)
        default: throw mismatch(Self.self, cqlValue, context)
        }
    }
    public var cqlValue: CQLValue { .double(self) }
}

extension Float: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        switch cqlValue {
        case .float(let f): self = f
        case .double(let d): self = Float(d)
        default: throw mismatch(Self.self, cqlValue, context)
        }
    }
    public var cqlValue: CQLValue { .float(self) }
}

extension UUID: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        switch cqlValue {
        case .uuid(let u), .timeuuid(let u): self = u
        default: throw mismatch(Self.self, cqlValue, context)
        }
    }
    public var cqlValue: CQLValue { .uuid(self) }
}

/// `Date` maps to `timestamp` (millisecond precision).
extension Date: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        guard case .timestamp(let t) = cqlValue else { throw mismatch(Self.self, cqlValue, context) }
        self = Date(timeIntervalSince1970: Double(t.millisecondsSinceEpoch) / 1000)
    }
    public var cqlValue: CQLValue {
        .timestamp(CQLTimestamp(millisecondsSinceEpoch: Int64((self.timeIntervalSince1970 * 1000).rounded(.down))))
    }
}

extension CQLTimestamp: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        guard case .timestamp(let t) = cqlValue else { throw mismatch(Self.self, cqlValue, context) }
        self = t
    }
    public var cqlValue: CQLValue { .timestamp(self) }
}

extension CQLDate: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        guard case .date(let d) = cqlValue else { throw mismatch(Self.self, cqlValue, context) }
        self = d
    }
    public var cqlValue: CQLValue { .date(self) }
}

extension CQLTime: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        guard case .time(let t) = cqlValue else { throw mismatch(Self.self, cqlValue, context) }
        self = t
    }
    public var cqlValue: CQLValue { .time(self) }
}

extension CQLDuration: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        guard case .duration(let d) = cqlValue else { throw mismatch(Self.self, cqlValue, context) }
        self = d
    }
    public var cqlValue: CQLValue { .duration(self) }
}

extension CQLInet: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        guard case .inet(let a) = cqlValue else { throw mismatch(Self.self, cqlValue, context) }
        self = a
    }
    public var cqlValue: CQLValue { .inet(self) }
}

extension CQLVarint: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        switch cqlValue {
        case .varint(let v): self = v
        default:
            guard let v = cqlValue.integerValue else { throw mismatch(Self.self, cqlValue, context) }
            self = CQLVarint(v)
        }
    }
    public var cqlValue: CQLValue { .varint(self) }
}

extension CQLDecimal: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        guard case .decimal(let d) = cqlValue else { throw mismatch(Self.self, cqlValue, context) }
        self = d
    }
    public var cqlValue: CQLValue { .decimal(self) }
}

/// A `blob` as bytes.
public struct CQLBlob: Sendable, Hashable, CQLValueConvertible {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        switch cqlValue {
        case .blob(let b), .custom(let b): self.bytes = b
        default: throw mismatch(Self.self, cqlValue, context)
        }
    }
    public var cqlValue: CQLValue { .blob(self.bytes) }
}

extension CQLValue: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) { self = cqlValue }
    public var cqlValue: CQLValue { self }
}

extension Optional: CQLValueConvertible where Wrapped: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        if case .null = cqlValue { self = .none } else { self = .some(try Wrapped(cqlValue: cqlValue, context: context)) }
    }
    public var cqlValue: CQLValue { self?.cqlValue ?? .null }
}

extension Array: CQLValueConvertible where Element: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        switch cqlValue {
        case .list(let v), .set(let v), .vector(let v):
            var out: [Element] = []
            out.reserveCapacity(v.count)
            for (i, item) in v.enumerated() {
                guard item != .null || Element.self is any ExpressibleByNilLiteral.Type else { throw .unexpectedNull(context: "\(context)[\(i)]") }
                out.append(try Element(cqlValue: item, context: "\(context)[\(i)]"))
            }
            self = out
        default: throw mismatch(Self.self, cqlValue, context)
        }
    }
    public var cqlValue: CQLValue { .list(self.map(\.cqlValue)) }
}

extension Set: CQLValueConvertible where Element: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        self = Set(try [Element](cqlValue: cqlValue, context: context))
    }
    public var cqlValue: CQLValue { .set(self.map(\.cqlValue)) }
}

extension Dictionary: CQLValueConvertible where Key: CQLValueConvertible, Value: CQLValueConvertible {
    public init(cqlValue: CQLValue, context: String) throws(CQLTypeError) {
        guard case .map(let entries) = cqlValue else { throw mismatch(Self.self, cqlValue, context) }
        var out: [Key: Value] = [:]
        for entry in entries {
            out[try Key(cqlValue: entry.key, context: "\(context).key")] = try Value(cqlValue: entry.value, context: "\(context)[\(entry.key)]")
        }
        self = out
    }
    public var cqlValue: CQLValue { .map(self.map { CQLMapEntry(key: $0.key.cqlValue, value: $0.value.cqlValue) }) }
}
