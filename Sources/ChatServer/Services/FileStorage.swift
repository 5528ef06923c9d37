import ChatWire
import Foundation

/// File bytes on local disk under `<root>/<bucket>/<path>` (the embedded stand-in for MinIO).
/// Buckets are per UTC day, `files-YYYY-MM-DD`, created on demand (so uploads after midnight work,
/// unlike the reference's bucket created only at start-up).
public struct FileStorage: Sendable {
    /// The root directory.
    public let root: String

    /// Storage under `root` (created if missing).
    public init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// Today's bucket name.
    public static func bucket(for time: ChatTimestamp = .now()) -> String {
        let day = String(time.description.prefix(10))
        return "files-\(day)"
    }

    /// Writes bytes; fails if the object exists.
    public func write(bucket: String, path: String, bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: root).appendingPathComponent(bucket).appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url, options: .withoutOverwriting)
    }

    /// Reads an object; `nil` if missing.
    public func read(bucket: String, path: String) -> [UInt8]? {
        let url = URL(fileURLWithPath: root).appendingPathComponent(bucket).appendingPathComponent(path)
        return (try? Data(contentsOf: url)).map { [UInt8]($0) }
    }

    /// Removes an object (used when metadata registration fails).
    public func delete(bucket: String, path: String) {
        let url = URL(fileURLWithPath: root).appendingPathComponent(bucket).appendingPathComponent(path)
        try? FileManager.default.removeItem(at: url)
    }
}

/// The single `file` part of a `multipart/form-data` upload.
struct MultipartFile {
    var fileName: String
    var contentType: String
    var bytes: [UInt8]

    enum ParseError: Error { case invalid(String) }

    /// Parses a body with `boundary`, returning the part named `file`.
    static func parse(body: [UInt8], boundary: String) throws(ParseError) -> MultipartFile {
        let delimiter = Array(("--" + boundary).utf8)
        guard !boundary.isEmpty, boundary.utf8.count <= 70, let first = find(delimiter, in: body, from: 0) else {
            throw .invalid("the body does not start with the multipart boundary")
        }
        var position = first + delimiter.count
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            guard position + 2 <= body.count else { throw .invalid("truncated multipart body") }
            if body[position] == 45, body[position + 1] == 45 { break }
            guard body[position] == 13, body[position + 1] == 10 else { throw .invalid("malformed boundary line") }
            position += 2
            guard let headerEnd = find([13, 10, 13, 10], in: body, from: position) else { throw .invalid("part headers are not terminated") }
            guard let headerText = String(validating: body[position..<headerEnd], as: UTF8.self) else { throw .invalid("part headers are not UTF-8") }
            let contentStart = headerEnd + 4
            guard let next = find([13, 10] + delimiter, in: body, from: contentStart) else { throw .invalid("part is not terminated by the boundary") }
            var name: String?
            var fileName: String?
            var contentType: String?
            for line in headerText.split(separator: "\r\n") {
                let kv = line.split(separator: ":", maxSplits: 1)
                guard kv.count == 2 else { throw .invalid("malformed part header") }
                let key = kv[0].trimmingCharacters(in: .whitespaces).lowercased()
                let value = kv[1].trimmingCharacters(in: .whitespaces)
                if key == "content-disposition" {
                    for parameter in value.split(separator: ";").dropFirst() {
                        let p = parameter.split(separator: "=", maxSplits: 1)
                        guard p.count == 2 else { continue }
                        let v = p[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                        switch p[0].trimmingCharacters(in: .whitespaces).lowercased() {
                        case "name": name = v
                        case "filename": fileName = v
                        default: break
                        }
                    }
                } else if key == "content-type" {
                    contentType = value.lowercased()
                }
            }
            if name == "file" {
                guard let fileName, !fileName.isEmpty else { throw .invalid("the file part has no file name") }
                guard let contentType else { throw .invalid("the file part has no content type") }
                return MultipartFile(fileName: fileName, contentType: contentType, bytes: Array(body[contentStart..<next]))
            }
            position = next + 2 + delimiter.count
        }
        throw .invalid("no part named 'file'")
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var i = start
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var match = true
                for k in 1..<needle.count where haystack[i + k] != needle[k] {
                    match = false
                    break
                }
                if match { return i }
            }
            i += 1
        }
        return nil
    }
}
