import Crypto

/// Sans-I/O SCRAM client (RFC 5802; SHA-256/512 per RFC 7677 and Kafka's KIP-84).
public struct SCRAMClient: Sendable {
    /// The hash function of the mechanism.
    public enum Hash: Sendable {
        /// SCRAM-SHA-1 (only for RFC 5802's test vector).
        case sha1
        /// SCRAM-SHA-256.
        case sha256
        /// SCRAM-SHA-512.
        case sha512
    }

    /// Errors in the exchange.
    public enum SCRAMError: Error, Sendable, Hashable {
        /// The server message lacks an attribute or is malformed.
        case malformedServerMessage(String)
        /// The server's nonce does not extend ours.
        case nonceMismatch
        /// The server's signature is wrong: it does not know the password.
        case serverSignatureMismatch
        /// The server reported an error (`e=`).
        case serverError(String)
    }

    let hash: Hash
    let username: String
    let password: String
    let clientNonce: String
    var clientFirstBare = ""
    var serverSignature: [UInt8] = []

    /// Creates a client; `nonce` is random unless given (tests pass the RFC's nonce).
    public init(hash: Hash, username: String, password: String, nonce: String? = nil) {
        self.hash = hash
        self.username = username
        self.password = password
        if let nonce {
            self.clientNonce = nonce
        } else {
            var rng = SystemRandomNumberGenerator()
            let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &rng) }
            self.clientNonce = Base64.encode(bytes)
        }
    }

    /// `n,,n=<user>,r=<nonce>`.
    public mutating func clientFirstMessage() -> String {
        let escaped = username.replacingAll("=", with: "=3D").replacingAll(",", with: "=2C")
        clientFirstBare = "n=\(escaped),r=\(clientNonce)"
        return "n,," + clientFirstBare
    }

    /// Computes `c=biws,r=<nonce>,p=<proof>` from the server-first message.
    public mutating func clientFinalMessage(serverFirst: String) throws(SCRAMError) -> String {
        let attrs = Self.attributes(serverFirst)
        if let e = attrs["e"] { throw .serverError(e) }
        guard let nonce = attrs["r"], let saltB64 = attrs["s"], let iterString = attrs["i"], let iterations = Int(iterString), iterations > 0,
              let salt = Base64.decode(saltB64)
        else { throw .malformedServerMessage(serverFirst) }
        guard nonce.hasPrefix(clientNonce) else { throw .nonceMismatch }
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let salted = hi(Array(password.utf8), salt: salt, iterations: iterations)
        let clientKey = hmac(salted, Array("Client Key".utf8))
        let storedKey = digest(clientKey)
        let clientSignature = hmac(storedKey, authMessage)
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = hmac(salted, Array("Server Key".utf8))
        serverSignature = hmac(serverKey, authMessage)
        return "\(withoutProof),p=\(Base64.encode(proof))"
    }

    /// Checks `v=<server signature>`.
    public func verifyServerFinal(_ message: String) throws(SCRAMError) {
        let attrs = Self.attributes(message)
        if let e = attrs["e"] { throw .serverError(e) }
        guard let v = attrs["v"], let signature = Base64.decode(v) else { throw .malformedServerMessage(message) }
        guard signature == serverSignature else { throw .serverSignatureMismatch }
    }

    static func attributes(_ message: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in message.split(separator: ",") {
            guard let eq = part.firstIndex(of: "="), part.distance(from: part.startIndex, to: eq) == 1 else { continue }
            out[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        return out
    }

    func hmac(_ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let k = SymmetricKey(data: key)
        switch hash {
        case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: k))
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: k))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: k))
        }
    }

    func digest(_ data: [UInt8]) -> [UInt8] {
        switch hash {
        case .sha1: return Array(Insecure.SHA1.hash(data: data))
        case .sha256: return Array(SHA256.hash(data: data))
        case .sha512: return Array(SHA512.hash(data: data))
        }
    }

    /// PBKDF2 with one block (the output length is the hash length).
    func hi(_ password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var u = hmac(password, salt + [0, 0, 0, 1])
        var result = u
        for _ in 1..<iterations {
            u = hmac(password, u)
            for i in result.indices { result[i] ^= u[i] }
        }
        return result
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}

/// Standard base64 (RFC 4648) for SCRAM attributes.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0xF) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ string: String) -> [UInt8]? {
        var values: [UInt8] = []
        for c in string.utf8 {
            if c == UInt8(ascii: "=") { break }
            guard let idx = alphabet.firstIndex(of: c) else { return nil }
            values.append(UInt8(idx))
        }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < values.count {
            out.append(values[i] << 2 | values[i + 1] >> 4)
            if i + 2 < values.count { out.append(values[i + 1] << 4 | values[i + 2] >> 2) }
            if i + 3 < values.count { out.append(values[i + 2] << 6 | values[i + 3]) }
            i += 4
        }
        return out
    }
}
