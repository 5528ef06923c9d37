import Crypto

/// A sans-I/O SCRAM client (RFC 5802): SCRAM-SHA-256 (RFC 7677), SCRAM-SHA-512 (Kafka, KIP-84),
/// SCRAM-SHA-1 (RFC 5802's own test vector), and the `-PLUS` variants with
/// `tls-server-end-point` channel binding (RFC 5929), as PostgreSQL and Kafka use them.
///
/// Feed it the server's messages and send what it returns:
/// ```swift
/// var scram = try SCRAMClient(hash: .sha256, username: "alice", password: "pencil")
/// send(scram.mechanism, scram.clientFirstMessage())
/// send(try scram.clientFinalMessage(serverFirst: receive()))
/// try scram.verifyServerFinal(receive())   // proves the server knows the password
/// ```
public struct SCRAMClient: Sendable {
    /// The hash function of the mechanism.
    public enum Hash: Sendable, Hashable {
        /// SCRAM-SHA-1 (RFC 5802; for its test vector and old servers).
        case sha1
        /// SCRAM-SHA-256 (RFC 7677).
        case sha256
        /// SCRAM-SHA-512.
        case sha512

        /// The SASL mechanism name without `-PLUS`.
        public var mechanismName: String {
            switch self {
            case .sha1: return "SCRAM-SHA-1"
            case .sha256: return "SCRAM-SHA-256"
            case .sha512: return "SCRAM-SHA-512"
            }
        }
    }

    /// Channel binding (the GS2 header's flag).
    public enum ChannelBinding: Sendable, Hashable {
        /// The client does not support channel binding (`n`).
        case unsupported
        /// The client supports it, but the server offered no `-PLUS` mechanism (`y`).
        case supportedButNotUsed
        /// `tls-server-end-point` with the hash of the server's certificate (`p=tls-server-end-point`).
        case tlsServerEndPoint([UInt8])
    }

    /// How the password is prepared before hashing.
    public enum PasswordPreparation: Sendable, Hashable {
        /// SASLprep as RFC 5802 requires; a password SASLprep rejects fails with ``SCRAMError/passwordRejected(_:)``.
        case saslPrep
        /// SASLprep, or the password unchanged when SASLprep rejects it: what PostgreSQL's server
        /// (when it stores the verifier) and libpq do.
        case saslPrepOrUnchanged
        /// The password's UTF-8 bytes unchanged: what Kafka's Java broker and librdkafka do.
        case unchanged
    }

    /// Errors of the exchange. Each says what failed.
    public enum SCRAMError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The server-first message lacks an attribute, is malformed or asks for an unsupported extension.
        case malformedServerFirst(String)
        /// The server's nonce does not extend the client's.
        case nonceMismatch
        /// The server-final message is malformed.
        case malformedServerFinal(String)
        /// The server reported an error (`e=`), e.g. `invalid-proof` for a wrong password.
        case serverError(String)
        /// The server's signature is wrong: it does not know the password (possible impersonation).
        case serverSignatureMismatch
        /// SASLprep rejected the password (with ``PasswordPreparation/saslPrep``).
        case passwordRejected(SASLprep.Failure)

        public var description: String {
            switch self {
            case .malformedServerFirst(let m): return "invalid SCRAM server-first message: \(m)"
            case .nonceMismatch: return "SCRAM server nonce does not extend the client nonce"
            case .malformedServerFinal(let m): return "invalid SCRAM server-final message: \(m)"
            case .serverError(let e): return "SCRAM authentication failed on the server: \(e)"
            case .serverSignatureMismatch:
                return "SCRAM server signature is wrong: the server does not know the password (possible impersonation)"
            case .passwordRejected(let f): return "the password cannot be used with SCRAM: \(f)"
            }
        }
    }

    /// Largest iteration count accepted from a server (a hostile server could ask for billions).
    public static let maximumIterations = 10_000_000

    /// The hash function.
    public let hash: Hash
    /// The channel binding in use.
    public let channelBinding: ChannelBinding
    /// The client nonce.
    public let clientNonce: String
    private let password: [UInt8]
    private let clientFirstBare: String
    private var serverSignature: [UInt8]?

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - username: Sent in `n=` (escaped). PostgreSQL ignores it and takes the startup user; pass "".
    ///   - password: The password, prepared as `preparation` says.
    ///   - nonce: Random (24 bytes, base64) unless given; tests pass the RFCs' nonces.
    public init(hash: Hash, username: String, password: String, channelBinding: ChannelBinding = .unsupported,
                preparation: PasswordPreparation = .saslPrep, nonce: String? = nil) throws(SCRAMError) {
        self.hash = hash
        self.channelBinding = channelBinding
        switch preparation {
        case .unchanged:
            self.password = Array(password.utf8)
        case .saslPrep:
            do { self.password = Array(try SASLprep.prepare(password).utf8) } catch { throw .passwordRejected(error) }
        case .saslPrepOrUnchanged:
            self.password = Array(((try? SASLprep.prepare(password)) ?? password).utf8)
        }
        if let nonce {
            self.clientNonce = nonce
        } else {
            var rng = SystemRandomNumberGenerator()
            self.clientNonce = Base64.encode((0..<24).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        var escaped = ""
        for c in username.unicodeScalars {
            switch c {
            case "=": escaped += "=3D"
            case ",": escaped += "=2C"
            default: escaped.unicodeScalars.append(c)
            }
        }
        self.clientFirstBare = "n=\(escaped),r=\(clientNonce)"
    }

    /// The SASL mechanism name, e.g. `SCRAM-SHA-256` or `SCRAM-SHA-256-PLUS`.
    public var mechanism: String {
        if case .tlsServerEndPoint = channelBinding { return hash.mechanismName + "-PLUS" }
        return hash.mechanismName
    }

    var gs2Header: String {
        switch channelBinding {
        case .unsupported: return "n,,"
        case .supportedButNotUsed: return "y,,"
        case .tlsServerEndPoint: return "p=tls-server-end-point,,"
        }
    }

    /// The client-first message: GS2 header, `n=<user>,r=<nonce>`.
    public func clientFirstMessage() -> String { gs2Header + clientFirstBare }

    /// Consumes the server-first message and returns the client-final message (with the proof).
    public mutating func clientFinalMessage(serverFirst: String) throws(SCRAMError) -> String {
        let attrs = Self.attributes(serverFirst)
        if let e = attrs["e"] { throw .serverError(e) }
        if attrs["m"] != nil { throw .malformedServerFirst("unsupported mandatory extension") }
        guard let nonce = attrs["r"], let saltText = attrs["s"], let salt = Base64.decode(saltText),
              let iterText = attrs["i"], let iterations = Int(iterText), iterations > 0, iterations <= Self.maximumIterations
        else { throw .malformedServerFirst(serverFirst) }
        guard nonce.hasPrefix(clientNonce), nonce.utf8.count > clientNonce.utf8.count else { throw .nonceMismatch }
        var cbindInput = Array(gs2Header.utf8)
        if case .tlsServerEndPoint(let endPoint) = channelBinding { cbindInput += endPoint }
        let withoutProof = "c=\(Base64.encode(cbindInput)),r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let proof: [UInt8]
        switch hash {
        case .sha1: (proof, serverSignature) = Self.compute(Insecure.SHA1.self, password, salt, iterations, authMessage)
        case .sha256: (proof, serverSignature) = Self.compute(SHA256.self, password, salt, iterations, authMessage)
        case .sha512: (proof, serverSignature) = Self.compute(SHA512.self, password, salt, iterations, authMessage)
        }
        return "\(withoutProof),p=\(Base64.encode(proof))"
    }

    /// Byte form of ``clientFinalMessage(serverFirst:)`` (the server-first message must be UTF-8).
    public mutating func clientFinalMessage(serverFirst bytes: [UInt8]) throws(SCRAMError) -> [UInt8] {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformedServerFirst("not UTF-8") }
        return Array(try clientFinalMessage(serverFirst: text).utf8)
    }

    /// Checks the server-final message (`v=<server signature>`), proving the server knows the password.
    public func verifyServerFinal(_ message: String) throws(SCRAMError) {
        let attrs = Self.attributes(message)
        if let e = attrs["e"] { throw .serverError(e) }
        guard let v = attrs["v"], let signature = Base64.decode(v) else { throw .malformedServerFinal(message) }
        guard let expected = serverSignature, signature == expected else { throw .serverSignatureMismatch }
    }

    /// Byte form of ``verifyServerFinal(_:)``.
    public func verifyServerFinal(_ bytes: [UInt8]) throws(SCRAMError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformedServerFinal("not UTF-8") }
        try verifyServerFinal(text)
    }

    // MARK: - Computation

    static func attributes(_ message: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in message.split(separator: ",", omittingEmptySubsequences: false) {
            guard let eq = part.firstIndex(of: "="), part.distance(from: part.startIndex, to: eq) == 1 else { continue }
            let key = String(part[..<eq])
            if out[key] == nil { out[key] = String(part[part.index(after: eq)...]) }
        }
        return out
    }

    /// ClientProof and ServerSignature for one exchange.
    static func compute<H: HashFunction>(_: H.Type, _ password: [UInt8], _ salt: [UInt8], _ iterations: Int,
                                         _ authMessage: [UInt8]) -> (proof: [UInt8], serverSignature: [UInt8]) {
        let salted = SymmetricKey(data: saltedPassword(H.self, password: password, salt: salt, iterations: iterations))
        let clientKey = Array(HMAC<H>.authenticationCode(for: Array("Client Key".utf8), using: salted))
        let storedKey = Array(H.hash(data: clientKey))
        let clientSignature = Array(HMAC<H>.authenticationCode(for: authMessage, using: SymmetricKey(data: storedKey)))
        let serverKey = Array(HMAC<H>.authenticationCode(for: Array("Server Key".utf8), using: salted))
        let serverSignature = Array(HMAC<H>.authenticationCode(for: authMessage, using: SymmetricKey(data: serverKey)))
        return (zip(clientKey, clientSignature).map { $0 ^ $1 }, serverSignature)
    }

    /// Hi() of RFC 5802: PBKDF2 with HMAC-H and one output block.
    public static func saltedPassword<H: HashFunction>(_: H.Type, password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var u = Array(HMAC<H>.authenticationCode(for: salt + [0, 0, 0, 1], using: key))
        var result = u
        var i = 1
        while i < iterations {
            u = Array(HMAC<H>.authenticationCode(for: u, using: key))
            for j in result.indices { result[j] ^= u[j] }
            i += 1
        }
        return result
    }
}
