import Foundation
import Testing
@testable import CQLClient

/// The CQL value types in `Codable` structs: bound as their CQL values, and usable with other coders.
@Suite("CQL value types in Codable structs")
struct ValueCodableTests {
    struct Record: Codable, Equatable {
        var day: CQLDate
        var at: CQLTime
        var stamp: CQLTimestamp
        var span: CQLDuration
        var address: CQLInet
        var big: CQLVarint
        var price: CQLDecimal
        var payload: CQLBlob
    }

    static let record = Record(day: CQLDate(year: 2026, month: 11, day: 29), at: CQLTime(hour: 3, minute: 4, second: 5),
                               stamp: CQLTimestamp(millisecondsSinceEpoch: 1_764_385_445_000),
                               span: CQLDuration(months: 1, days: 2, nanoseconds: 3), address: CQLInet("10.1.2.3")!,
                               big: CQLVarint("123456789012345678901234567890")!, price: CQLDecimal("-12.345")!, payload: CQLBlob([1, 2, 255]))

    @Test("CQLValueEncoder binds each property as its CQL value")
    func encodesAsCQLValues() throws {
        guard case .udt(let fields) = try CQLValueEncoder.encode(Self.record) else {
            Issue.record("expected a keyed value")
            return
        }
        let values = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.value) })
        #expect(values["day"] == .date(Self.record.day))
        #expect(values["at"] == .time(Self.record.at))
        #expect(values["stamp"] == .timestamp(Self.record.stamp))
        #expect(values["span"] == .duration(Self.record.span))
        #expect(values["address"] == .inet(Self.record.address))
        #expect(values["big"] == .varint(Self.record.big))
        #expect(values["price"] == .decimal(Self.record.price))
        #expect(values["payload"] == .blob([1, 2, 255]))
    }

    @Test("JSON round trip through the text and integer forms")
    func jsonRoundTrip() throws {
        let data = try JSONEncoder().encode(Self.record)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["address"] as? String == "10.1.2.3")
        #expect(json["big"] as? String == "123456789012345678901234567890")
        #expect(json["price"] as? String == "-12.345")
        #expect(try JSONDecoder().decode(Record.self, from: data) == Self.record)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(CQLInet.self, from: Data(#""not an address""#.utf8)) }
    }
}
