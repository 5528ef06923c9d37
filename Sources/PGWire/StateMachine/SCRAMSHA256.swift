import Crypto
import Foundation

/// A SCRAM-SHA-256 / SCRAM-SHA-256-PLUS client exchange (RFC 5802, RFC 7677, RFC 5929).
///
/// Sans-I/O: feed it the server's messages and it returns the bytes to send.
struct SCRAMSHA256Client: Sendable {
    enum ChannelBinding: Sendable, Equatable {
        /// The client does not support channel binding ("n").
        case unsupported
        /// The client supports it but the server did not offer -PLUS ("y").
        case supportedButNotUsed
        /// tls-server-end-point with the hash of the server certificate ("p=tls-server-end-point").
        case tlsServerEndPoint([UInt8])
    }

    enum SCRAMError: Error, Sendable, Equatable, CustomStringConvertible {
        case invalidServerFirst(String)
        case nonceMismatch
        case invalidServerFinal(String)
        case serverError(String)
        case signatureMismatch

        var description: String {
            switch self {
            case .invalidServerFirst(let m): return "invalid SCRAM server-first message: \(m)"
            case .nonceMismatch: return "SCRAM server nonce does not extend the client nonce"
            case .invalidServerFinal(let m): return "invalid SCRAM server-final message: \(m)"
            case .serverError(let e): return "SCRAM authentication failed on the server: \(e)"
            case .signatureMismatch: return "SCRAM server signature is wrong: the server does not know the password (possible impersonation)"
            }
        }
    }

    let password: String
    let binding: ChannelBinding
    let clientNonce: String
    private(set) var clientFirstBare: String
    private var expectedServerSignature: [UInt8]?

    init(password: String, binding: ChannelBinding, nonce: String? = nil) {
        self.password = password
        self.binding = binding
        if let nonce {
            self.clientNonce = nonce
        } else {
            var rng = SystemRandomNumberGenerator()
            let bytes = (0..<18).map { _ in UInt8.random(in: 0...255, using: &rng) }
            self.clientNonce = Data(bytes).base64EncodedString()
        }
        self.clientFirstBare = "n=,r=\(clientNonce)"
    }

    var mechanism: String {
        if case .tlsServerEndPoint = binding { return "SCRAM-SHA-256-PLUS" }
        return "SCRAM-SHA-256"
    }

    var gs2Header: String {
        switch binding {
        case .unsupported: return "n,,"
        case .supportedButNotUsed: return "y,,"
        case .tlsServerEndPoint: return "p=tls-server-end-point,,"
        }
    }

    /// The client-first message.
    func clientFirst() -> [UInt8] { Array((gs2Header + clientFirstBare).utf8) }

    /// Consumes server-first, returns client-final.
    mutating func clientFinal(serverFirst raw: [UInt8]) throws(SCRAMError) -> [UInt8] {
        guard let serverFirst = String(validating: raw, as: UTF8.self) else { throw .invalidServerFirst("not UTF-8") }
        var nonce: String?, salt: [UInt8]?, iterations: Int?
        for part in serverFirst.split(separator: ",") {
            guard part.count >= 2, part.dropFirst().first == "=" else { continue }
            let value = String(part.dropFirst(2))
            switch part.first {
            case "r": nonce = value
            case "s": salt = Data(base64Encoded: value).map(Array.init)
            case "i": iterations = Int(value)
            case "m": throw .invalidServerFirst("unsupported mandatory extension")
            default: break
            }
        }
        guard let nonce, let salt, let iterations, iterations > 0, iterations <= 10_000_000 else {
            throw .invalidServerFirst(serverFirst)
        }
        guard nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count else { throw .nonceMismatch }
        var cbindInput = Array(gs2Header.utf8)
        if case .tlsServerEndPoint(let hash) = binding { cbindInput += hash }
        let withoutProof = "c=\(Data(cbindInput).base64EncodedString()),r=\(nonce)"
        let saltedPassword = Self.hi(password: Array(password.utf8), salt: salt, iterations: iterations)
        let saltedKey = SymmetricKey(data: saltedPassword)
        let clientKey = Array(HMAC<SHA256>.authenticationCode(for: Array("Client Key".utf8), using: saltedKey))
        let storedKey = Array(SHA256.hash(data: clientKey))
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = Array(HMAC<SHA256>.authenticationCode(for: authMessage, using: SymmetricKey(data: storedKey)))
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = Array(HMAC<SHA256>.authenticationCode(for: Array("Server Key".utf8), using: saltedKey))
        expectedServerSignature = Array(HMAC<SHA256>.authenticationCode(for: authMessage, using: SymmetricKey(data: serverKey)))
        return Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8)
    }

    /// Verifies server-final.
    func verify(serverFinal raw: [UInt8]) throws(SCRAMError) {
        guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidServerFinal("not UTF-8") }
        if text.hasPrefix("e=") { throw .serverError(String(text.dropFirst(2))) }
        guard text.hasPrefix("v="),
              let signature = Data(base64Encoded: String(text.dropFirst(2).prefix { $0 != "," })) else {
            throw .invalidServerFinal(text)
        }
        guard let expected = expectedServerSignature, Array(signature) == expected else { throw .signatureMismatch }
    }

    /// Hi() from RFC 5802: PBKDF2 with HMAC-SHA-256 and one output block.
    static func hi(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var u = Array(HMAC<SHA256>.authenticationCode(for: salt + [0, 0, 0, 1], using: key))
        var result = u
        if iterations > 1 {
            for _ in 2...iterations {
                u = Array(HMAC<SHA256>.authenticationCode(for: u, using: key))
                for i in 0..<result.count { result[i] ^= u[i] }
            }
        }
        return result
    }
}

/// MD5 password hashing as PostgreSQL expects: "md5" + md5(md5(password + user) + salt).
enum PostgresMD5 {
    static func hash(user: String, password: String, salt: [UInt8]) -> String {
        let inner = hex(Insecure.MD5.hash(data: Array((password + user).utf8)))
        let outer = hex(Insecure.MD5.hash(data: Array(inner.utf8) + salt))
        return "md5" + outer
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
