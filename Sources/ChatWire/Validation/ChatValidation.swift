/// One failed input rule: which property and why.
public struct ValidationFailure: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The property name as it appears in the API (camelCase).
    public var property: String
    /// What is wrong with it.
    public var message: String

    /// A failure of `property`.
    public init(_ property: String, _ message: String) {
        self.property = property
        self.message = message
    }

    public var description: String { "\(property): \(message)" }
}

/// The reference system's input rules, shared by the server (which enforces them) and clients
/// (which can check before sending).
public enum ChatValidation {
    /// Largest accepted file, in bytes (the reference's 512 KiB).
    public static let maxFileSize = 524_288
    /// Longest plain-text message, in characters.
    public static let maxTextLength = 128
    /// Longest reaction, in characters.
    public static let maxReactionLength = 8
    /// Allowed file extensions and the content type each must be uploaded with.
    public static let fileContentTypes: [String: String] = [
        "png": "image/png", "jpg": "image/jpg", "jpeg": "image/jpeg", "txt": "text/plain", "pdf": "application/pdf",
    ]

    /// userName: 4–32 characters, no whitespace, no upper case.
    public static func userName(_ value: String, property: String = "userName") -> [ValidationFailure] {
        var failures: [ValidationFailure] = []
        if !(4...32).contains(value.count) { failures.append(.init(property, "must be 4 to 32 characters long")) }
        if value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control }) {
            failures.append(.init(property, "must not contain whitespace or control characters"))
        }
        if value.unicodeScalars.contains(where: { $0.properties.isUppercase }) {
            failures.append(.init(property, "must not contain upper-case letters"))
        }
        return failures
    }

    /// password: 8–128 characters.
    public static func password(_ value: String, property: String = "password") -> [ValidationFailure] {
        (8...128).contains(value.count) ? [] : [.init(property, "must be 8 to 128 characters long")]
    }

    /// displayName: 4–32 characters, no control characters.
    public static func displayName(_ value: String, property: String = "displayName") -> [ValidationFailure] {
        var failures: [ValidationFailure] = []
        if !(4...32).contains(value.count) { failures.append(.init(property, "must be 4 to 32 characters long")) }
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            failures.append(.init(property, "must not contain control characters"))
        }
        return failures
    }

    /// phone: 8–16 ASCII digits.
    public static func phone(_ value: String, property: String = "phone") -> [ValidationFailure] {
        let ok = (8...16).contains(value.utf8.count) && value.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
        return ok ? [] : [.init(property, "must be 8 to 16 digits")]
    }

    /// email: `local@domain.tld`, at most 254 characters, no whitespace, quotes or control characters.
    public static func email(_ value: String, property: String = "email") -> [ValidationFailure] {
        let bad: [ValidationFailure] = [.init(property, "must be a valid email address")]
        guard value.utf8.count <= 254 else { return bad }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else { return bad }
        let domain = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard domain.count >= 2, domain.allSatisfy({ !$0.isEmpty }) else { return bad }
        let forbidden = Set("\"'<>()[],;:\\ ".unicodeScalars)
        for scalar in value.unicodeScalars where forbidden.contains(scalar) || scalar.properties.isWhitespace
            || scalar.properties.generalCategory == .control {
            return bad
        }
        return []
    }

    /// A registration: every field's rules.
    public static func registration(userName: String, password: String, displayName: String, phone: String, email: String) -> [ValidationFailure] {
        self.userName(userName) + self.password(password) + self.displayName(displayName) + self.phone(phone) + self.email(email)
    }

    /// A user ID: positive.
    public static func userID(_ value: Int64, property: String) -> [ValidationFailure] {
        value > 0 ? [] : [.init(property, "must be greater than 0")]
    }

    /// A plain-text message: 1–128 characters.
    public static func messageText(_ value: String, property: String = "text") -> [ValidationFailure] {
        (1...maxTextLength).contains(value.count) ? [] : [.init(property, "must be 1 to \(maxTextLength) characters long")]
    }

    /// The text that accompanies a file: 0–128 characters.
    public static func fileText(_ value: String, property: String = "text") -> [ValidationFailure] {
        value.count <= maxTextLength ? [] : [.init(property, "must be at most \(maxTextLength) characters long")]
    }

    /// A reaction: 1–8 characters.
    public static func reaction(_ value: String, property: String = "reaction") -> [ValidationFailure] {
        (1...maxReactionLength).contains(value.count) ? [] : [.init(property, "must be 1 to \(maxReactionLength) characters long")]
    }

    /// A profile search pattern: 3–32 letters (`^\p{L}{3,32}$`).
    public static func searchPattern(_ value: String, property: String = "searchPattern") -> [ValidationFailure] {
        let ok = (3...32).contains(value.count) && value.unicodeScalars.allSatisfy { $0.properties.isAlphabetic && $0.properties.generalCategory.isLetter }
        return ok ? [] : [.init(property, "must be 3 to 32 letters")]
    }

    /// A file bucket: `^[a-z0-9\-]{4,64}$`.
    public static func bucket(_ value: String, property: String = "bucket") -> [ValidationFailure] {
        let ok = (4...64).contains(value.utf8.count) && value.utf8.allSatisfy(isLowerAlnumOrDash)
        return ok ? [] : [.init(property, "must match ^[a-z0-9\\-]{4,64}$")]
    }

    /// A file path: `^[0-9]+/[a-z0-9\-]{20,40}\.[a-z]{3,8}$`.
    public static func path(_ value: String, property: String = "path") -> [ValidationFailure] {
        let bad: [ValidationFailure] = [.init(property, "must match ^[0-9]+/[a-z0-9\\-]{20,40}\\.[a-z]{3,8}$")]
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return bad }
        let name = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard name.count == 2, (20...40).contains(name[0].utf8.count), name[0].utf8.allSatisfy(isLowerAlnumOrDash),
              (3...8).contains(name[1].utf8.count), name[1].utf8.allSatisfy({ $0 >= 97 && $0 <= 122 }) else { return bad }
        return []
    }

    /// The content type a file with `fileName` must have, or `nil` if its extension is not allowed.
    public static func contentType(forFileName fileName: String) -> (extension: String, contentType: String)? {
        guard let dot = fileName.lastIndex(of: ".") else { return nil }
        let ext = fileName[fileName.index(after: dot)...].lowercased()
        guard let type = fileContentTypes[ext] else { return nil }
        return (ext, type)
    }

    private static func isLowerAlnumOrDash(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45
    }
}

extension Unicode.GeneralCategory {
    fileprivate var isLetter: Bool {
        switch self {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }
}
