/// An IPv4 or IPv6 address (`inet`).
public struct CQLInet: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6), network order.
    public let bytes: [UInt8]

    /// Creates an address from 4 or 16 bytes; nil for other lengths.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses dotted IPv4 or colon IPv6 text (with `::` compression).
    public init?(_ text: String) {
        if text.contains(":") {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            var head: [UInt16] = [], tail: [UInt16] = []
            var seenGap = false
            var index = 0
            while index < parts.count {
                let part = parts[index]
                if part.isEmpty {
                    if index + 1 < parts.count && parts[index + 1].isEmpty { index += 1 }
                    if seenGap && !(index == parts.count - 1) { return nil }
                    seenGap = true
                    index += 1
                    continue
                }
                guard let value = UInt16(part, radix: 16) else { return nil }
                if seenGap { tail.append(value) } else { head.append(value) }
                index += 1
            }
            let missing = 8 - head.count - tail.count
            guard missing >= 0, seenGap || missing == 0 else { return nil }
            let groups = head + [UInt16](repeating: 0, count: missing) + tail
            self.bytes = groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var bytes: [UInt8] = []
            for part in parts {
                guard let value = UInt8(part) else { return nil }
                bytes.append(value)
            }
            self.bytes = bytes
        }
    }

    public var isIPv4: Bool { self.bytes.count == 4 }

    public var description: String {
        if self.isIPv4 { return self.bytes.map(String.init).joined(separator: ".") }
        var groups: [UInt16] = []
        for i in stride(from: 0, to: 16, by: 2) { groups.append(UInt16(self.bytes[i]) << 8 | UInt16(self.bytes[i + 1])) }
        // compress the longest run of zero groups (length >= 2)
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        if bestLength < 2 { return hex.joined(separator: ":") }
        let left = hex[..<bestStart].joined(separator: ":")
        let right = hex[(bestStart + bestLength)...].joined(separator: ":")
        return left + "::" + right
    }
}
