import Foundation
import NIOCore

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    public var postgresType: PostgresDataType { Element.postgresArrayType }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) throws {
        buffer.writeInteger(Int32(isEmpty ? 0 : 1))
        buffer.writeInteger(Int32(contains { $0.isPostgresNull } ? 1 : 0))
        buffer.writeInteger(Element.postgresElementType.rawValue)
        if isEmpty { return }
        buffer.writeInteger(Int32(count))
        buffer.writeInteger(Int32(1))
        for e in self { try buffer.writePostgresCell(e, context: context) }
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    /// Decodes a one-dimensional array (multi-dimensional arrays are flattened in row-major order;
    /// use ``PostgresArray`` to keep the dimensions).
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        self = try PostgresArray<Element>(from: &buffer, type: type, format: format, context: context).elements
    }
}

/// A PostgreSQL array of any number of dimensions, elements in row-major order.
public struct PostgresArray<Element: PostgresDecodable>: PostgresDecodable {
    /// Size of each dimension.
    public var dimensions: [Int]
    /// Lower bound of each dimension (usually 1).
    public var lowerBounds: [Int]
    /// Elements in row-major order (use an Optional element type to accept NULLs).
    public var elements: [Element]
    /// The element type OID sent by the server.
    public var elementType: PostgresDataType

    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard format == .binary else { throw mismatch(PostgresArray.self, type, format) }
        guard let ndim = buffer.readInteger(as: Int32.self), let _ = buffer.readInteger(as: Int32.self),
              let elemOID = buffer.readInteger(as: UInt32.self), (0...6).contains(ndim) else {
            throw invalid(PostgresArray.self, type, format, "malformed array header")
        }
        var dims: [Int] = [], lbs: [Int] = []
        var total = ndim == 0 ? 0 : 1
        for _ in 0..<ndim {
            guard let size = buffer.readInteger(as: Int32.self), let lb = buffer.readInteger(as: Int32.self), size >= 0 else {
                throw invalid(PostgresArray.self, type, format, "malformed dimension")
            }
            dims.append(Int(size)); lbs.append(Int(lb))
            total = total.multipliedReportingOverflow(by: Int(size)).partialValue
            guard total <= buffer.readableBytes / 4 else { throw invalid(PostgresArray.self, type, format, "more elements than bytes") }
        }
        var out: [Element] = []
        out.reserveCapacity(total)
        let elemType = PostgresDataType(elemOID)
        for _ in 0..<total {
            guard let len = buffer.readInteger(as: Int32.self), len >= -1 else { throw invalid(PostgresArray.self, type, format, "bad element length") }
            var cell: ByteBuffer?
            if len >= 0 {
                guard let slice = buffer.readSlice(length: Int(len)) else { throw invalid(PostgresArray.self, type, format, "element truncated") }
                cell = slice
            }
            out.append(try Element.decodeCell(cell, type: elemType, format: .binary, context: context))
        }
        guard buffer.readableBytes == 0 else { throw invalid(PostgresArray.self, type, format, "trailing bytes") }
        self.dimensions = dims
        self.lowerBounds = lbs
        self.elements = out
        self.elementType = elemType
    }
}

/// A multi-dimensional array parameter.
public struct PostgresArrayParameter<Element: PostgresArrayElement>: PostgresEncodable {
    /// Size of each dimension.
    public var dimensions: [Int]
    /// Elements in row-major order; count must equal the product of `dimensions`.
    public var elements: [Element]
    /// Creates a parameter.
    public init(dimensions: [Int], elements: [Element]) {
        precondition(dimensions.reduce(1, *) == elements.count || (dimensions.isEmpty && elements.isEmpty), "element count does not match dimensions")
        self.dimensions = dimensions
        self.elements = elements
    }
    public var postgresType: PostgresDataType { Element.postgresArrayType }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) throws {
        buffer.writeInteger(Int32(dimensions.count))
        buffer.writeInteger(Int32(elements.contains { $0.isPostgresNull } ? 1 : 0))
        buffer.writeInteger(Element.postgresElementType.rawValue)
        for d in dimensions { buffer.writeInteger(Int32(d)); buffer.writeInteger(Int32(1)) }
        for e in elements { try buffer.writePostgresCell(e, context: context) }
    }
}

/// A type usable as a range bound.
public protocol PostgresRangeBound: PostgresCodable {
    /// The range type over this bound type.
    static var postgresRangeType: PostgresDataType { get }
}

extension Int32: PostgresRangeBound { public static var postgresRangeType: PostgresDataType { .int4range } }
extension Int64: PostgresRangeBound { public static var postgresRangeType: PostgresDataType { .int8range } }
extension PostgresNumeric: PostgresRangeBound { public static var postgresRangeType: PostgresDataType { .numrange } }
extension PostgresTimestamp: PostgresRangeBound { public static var postgresRangeType: PostgresDataType { .tsrange } }
extension Foundation.Date: PostgresRangeBound { public static var postgresRangeType: PostgresDataType { .tstzrange } }
extension PostgresDate: PostgresRangeBound { public static var postgresRangeType: PostgresDataType { .daterange } }

/// A range value (`int4range`, `int8range`, `numrange`, `tsrange`, `tstzrange`, `daterange`).
public struct PostgresRange<Bound: PostgresRangeBound>: PostgresCodable, Equatable where Bound: Equatable {
    /// Lower bound (`nil` = unbounded).
    public var lower: Bound?
    /// Upper bound (`nil` = unbounded).
    public var upper: Bound?
    /// Whether the lower bound is included.
    public var lowerInclusive: Bool
    /// Whether the upper bound is included.
    public var upperInclusive: Bool
    /// True for the empty range.
    public var isEmpty: Bool

    /// Creates a range; default bounds are `[lower, upper)`.
    public init(lower: Bound?, upper: Bound?, lowerInclusive: Bool = true, upperInclusive: Bool = false) {
        self.lower = lower
        self.upper = upper
        self.lowerInclusive = lower != nil && lowerInclusive
        self.upperInclusive = upper != nil && upperInclusive
        self.isEmpty = false
    }

    /// The empty range.
    public static var empty: Self {
        var r = Self(lower: nil, upper: nil)
        r.isEmpty = true
        return r
    }

    public var postgresType: PostgresDataType { Bound.postgresRangeType }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) throws {
        var flags: UInt8 = 0
        if isEmpty { buffer.writeInteger(UInt8(0x01)); return }
        if lowerInclusive { flags |= 0x02 }
        if upperInclusive { flags |= 0x04 }
        if lower == nil { flags |= 0x08 }
        if upper == nil { flags |= 0x10 }
        buffer.writeInteger(flags)
        if let lower { try buffer.writePostgresCell(lower, context: context) }
        if let upper { try buffer.writePostgresCell(upper, context: context) }
    }

    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        let boundType: PostgresDataType
        switch type {
        case .int4range: boundType = .int4
        case .int8range: boundType = .int8
        case .numrange: boundType = .numeric
        case .tsrange: boundType = .timestamp
        case .tstzrange: boundType = .timestamptz
        case .daterange: boundType = .date
        default: throw mismatch(PostgresRange.self, type, format)
        }
        guard format == .binary, let flags = buffer.readInteger(as: UInt8.self) else { throw mismatch(PostgresRange.self, type, format) }
        self.isEmpty = flags & 0x01 != 0
        self.lowerInclusive = flags & 0x02 != 0
        self.upperInclusive = flags & 0x04 != 0
        func bound() throws -> Bound {
            guard let len = buffer.readInteger(as: Int32.self), len >= 0, var slice = buffer.readSlice(length: Int(len)) else {
                throw invalid(PostgresRange.self, type, format, "truncated bound")
            }
            return try Bound(from: &slice, type: boundType, format: .binary, context: context)
        }
        self.lower = (isEmpty || flags & 0x08 != 0) ? nil : try bound()
        self.upper = (isEmpty || flags & 0x10 != 0) ? nil : try bound()
        guard buffer.readableBytes == 0 else { throw invalid(PostgresRange.self, type, format, "trailing bytes") }
    }
}
