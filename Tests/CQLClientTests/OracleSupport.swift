import Foundation
import NIOCore
import Synchronization
@testable import CQLClient

/// Runs scripts/oracles/cql/oracle.py with the configured Python.
enum Oracle {
    static var script: String { PeerEnvironment.repositoryRoot.appendingPathComponent("scripts/oracles/cql/oracle.py").path }

    /// Runs the oracle off Swift's cooperative pool (a dispatch thread waits for the process).
    static func run(_ python: String, _ arguments: [String], stdin: String? = nil) async throws -> Data {
        try await Process.runOffPool { try runBlocking(python, arguments, stdin: stdin) }
    }

    private static func runBlocking(_ python: String, _ arguments: [String], stdin: String?) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        // stderr is drained on its own thread so a chatty oracle cannot block on a full pipe
        let errors = ErrorCollector(err)
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OracleError(message: "oracle \(arguments) failed: " + errors.text())
        }
        return data
    }

    struct OracleError: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// The golden vectors, generated once per test process.
    static func vectors(_ python: String) async throws -> [String: Any] {
        let data = try await VectorCache.shared.data(python)
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    actor VectorCache {
        static let shared = VectorCache()
        private var task: Task<Data, any Error>?
        func data(_ python: String) async throws -> Data {
            if let task { return try await task.value }
            let task = Task { try await Oracle.run(python, ["vectors"]) }
            self.task = task
            return try await task.value
        }
    }

    static func json(_ data: Data) throws -> Any { try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) }
}

func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(hex.utf8.count / 2)
    var iterator = hex.utf8.makeIterator()
    func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
    while let a = iterator.next(), let b = iterator.next() { out.append(nibble(a) << 4 | nibble(b)) }
    return out
}

func buffer(hex: String) -> ByteBuffer { ByteBuffer(bytes: bytes(hex: hex)) }

func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

func hex(_ buffer: ByteBuffer) -> String { hex(buffer.readableBytesView) }

/// Canonical JSON text of a JSON-compatible value (sorted keys), for comparisons.
func canonical(_ value: Any?) -> String {
    guard let value, !(value is NSNull) else { return "null" }
    let data = try! JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .fragmentsAllowed])
    return String(decoding: data, as: UTF8.self)
}

// MARK: value JSON encoding shared with oracle.py (see its docstring)

enum ValueJSON {
    static func value(from json: Any?, type: CQLDataType) throws -> CQLValue {
        guard let json, !(json is NSNull) else { return .null }
        func str() -> String { json as! String }
        func int() -> Int64 { Int64(str())! }
        switch type {
        case .int: return .int(Int32(int()))
        case .bigint: return .bigint(int())
        case .counter: return .counter(int())
        case .smallint: return .smallint(Int16(int()))
        case .tinyint: return .tinyint(Int8(int()))
        case .varint: return .varint(CQLVarint(str())!)
        case .timestamp: return .timestamp(CQLTimestamp(millisecondsSinceEpoch: int()))
        case .date: return .date(CQLDate(daysSinceEpoch: Int32(int())))
        case .time: return .time(CQLTime(nanosecondsSinceMidnight: int()))
        case .decimal:
            let d = json as! [String: Any]
            return .decimal(CQLDecimal(unscaled: CQLVarint(d["unscaled"] as! String)!, scale: Int32(d["scale"] as! Int)))
        case .double: return .double(Double(bitPattern: UInt64(str(), radix: 16)!))
        case .float: return .float(Float(bitPattern: UInt32(str(), radix: 16)!))
        case .text: return .text(str())
        case .ascii: return .ascii(str())
        case .blob, .custom: return .blob(bytes(hex: str()))
        case .boolean: return .boolean(json as! Bool)
        case .uuid: return .uuid(UUID(uuidString: str())!)
        case .timeuuid: return .timeuuid(UUID(uuidString: str())!)
        case .inet: return .inet(CQLInet(str())!)
        case .duration:
            let a = json as! [String]
            return .duration(CQLDuration(months: Int32(a[0])!, days: Int32(a[1])!, nanoseconds: Int64(a[2])!))
        case .list(let e): return .list(try (json as! [Any]).map { try value(from: $0, type: e) })
        case .set(let e): return .set(try (json as! [Any]).map { try value(from: $0, type: e) })
        case .vector(let e, _): return .vector(try (json as! [Any]).map { try value(from: $0, type: e) })
        case .map(let k, let v):
            return .map(try (json as! [[Any]]).map { CQLMapEntry(key: try value(from: $0[0], type: k), value: try value(from: $0[1], type: v)) })
        case .tuple(let types):
            return .tuple(try zip(json as! [Any], types).map { try value(from: $0.0, type: $0.1) })
        case .udt(_, _, let fields):
            return .udt(try zip(json as! [Any], fields).map { CQLUDTField(name: $0.1.name, value: try value(from: $0.0, type: $0.1.type)) })
        }
    }

    static func json(_ value: CQLValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .int(let v): return String(v)
        case .bigint(let v), .counter(let v): return String(v)
        case .smallint(let v): return String(v)
        case .tinyint(let v): return String(v)
        case .varint(let v): return v.description
        case .timestamp(let t): return String(t.millisecondsSinceEpoch)
        case .date(let d): return String(d.daysSinceEpoch)
        case .time(let t): return String(t.nanosecondsSinceMidnight)
        case .decimal(let d): return ["unscaled": d.unscaled.description, "scale": Int(d.scale)] as [String: Any]
        case .double(let d): return hex(withUnsafeBytes(of: d.bitPattern.bigEndian) { Array($0) })
        case .float(let f): return hex(withUnsafeBytes(of: f.bitPattern.bigEndian) { Array($0) })
        case .text(let s), .ascii(let s): return s
        case .blob(let b), .custom(let b): return hex(b)
        case .boolean(let b): return b
        case .uuid(let u), .timeuuid(let u): return u.uuidString.lowercased()
        case .inet(let a): return a.description
        case .duration(let d): return [String(d.months), String(d.days), String(d.nanoseconds)]
        case .list(let v), .set(let v), .vector(let v), .tuple(let v): return v.map(json)
        case .map(let e): return e.map { [json($0.key), json($0.value)] }
        case .udt(let f): return f.map { json($0.value) }
        }
    }
}

/// Reads a pipe to its end on a dispatch thread.
final class ErrorCollector: Sendable {
    private let result = Mutex<Data?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        // a thread of its own: GCD's global queues are limited to the core count on Linux, and
        // blocked work items there starve each other
        Thread {
            let data = handle.readDataToEndOfFile()
            self.result.withLock { $0 = data }
            self.done.signal()
        }.start()
    }

    /// Everything read (waits for the writer to close the pipe).
    func text() -> String {
        self.done.wait()
        return String(decoding: self.result.withLock { $0 } ?? Data(), as: UTF8.self)
    }
}

extension Process {
    /// Runs blocking process work on a thread of its own, keeping Swift's cooperative pool free
    /// (not on GCD's global queues: on Linux they run at most one blocked item per core).
    static func runOffPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }.start()
        }
    }
}
