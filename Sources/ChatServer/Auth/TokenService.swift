import Crypto
import Foundation
import Synchronization

/// The identity carried by a valid access token.
public struct Identity: Sendable, Hashable {
    /// The user (`sub`).
    public var userID: Int64
    /// The user name (`name`).
    public var userName: String
    /// The device/session ID (`actor`), one per log-in.
    public var clientID: String

    /// An identity.
    public init(userID: Int64, userName: String, clientID: String) {
        self.userID = userID
        self.userName = userName
        self.clientID = clientID
    }
}

/// Why a token was refused.
public enum TokenError: Error, Sendable, Hashable {
    case malformed
    case badSignature
    case expired
    case wrongAudienceOrIssuer
}

/// JWT (HS256) access tokens: `sub` = user ID, `name`, `actor` = client ID, `role` = "user",
/// `iss`, `aud`, `iat`, `nbf`, `exp`. Validation checks the signature (constant-time HMAC
/// comparison), issuer, audience and lifetime with a 5 s clock skew, like the reference.
public struct TokenService: Sendable {
    let secret: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: secret) }
    /// Tokens that passed the full check, so a client's every call (a gRPC unary call, an API
    /// request) costs a look-up, not two JSON decodes and an HMAC; lifetime is still checked per use.
    private let verified = VerifiedTokens()
    /// Issuer claim.
    public var issuer: String
    /// Audience claim.
    public var audience: String
    /// Token lifetime in seconds (the reference uses 30 minutes).
    public var lifetimeSeconds: Int64

    /// A token service signing with `secret` (at least 32 bytes recommended).
    public init(secret: [UInt8], issuer: String = "wirestack-chat", audience: String = "wirestack-chat", lifetimeSeconds: Int64 = 1800) {
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.lifetimeSeconds = lifetimeSeconds
    }

    private struct Header: Codable { var alg: String; var typ: String }
    private struct Claims: Codable {
        var sub: String
        var name: String
        var actor: String
        var role: String
        var iss: String
        var aud: String
        var iat: Int64
        var nbf: Int64
        var exp: Int64
    }

    /// Mints a token for `identity`, valid from `now` for ``lifetimeSeconds``.
    public func issue(_ identity: Identity, now: Int64 = Int64(Date().timeIntervalSince1970)) throws -> String {
        let header = Self.base64URL(try JSONEncoder().encode(Header(alg: "HS256", typ: "JWT")))
        let claims = Self.base64URL(try JSONEncoder().encode(Claims(sub: String(identity.userID), name: identity.userName, actor: identity.clientID, role: "user",
                                                                    iss: issuer, aud: audience, iat: now, nbf: now, exp: now + lifetimeSeconds)))
        let signingInput = header + "." + claims
        let mac = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: key)
        return signingInput + "." + Self.base64URL(Data(mac))
    }

    /// Validates `token` and returns its identity.
    public func verify(_ token: String, now: Int64 = Int64(Date().timeIntervalSince1970)) throws(TokenError) -> Identity {
        if let identity = verified.identity(of: token, issuer: issuer, audience: audience, now: now, skew: Self.skew) { return identity }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count < 4096,
              let headerData = Self.decodeBase64URL(parts[0]), let claimsData = Self.decodeBase64URL(parts[1]),
              let signature = Self.decodeBase64URL(parts[2]) else { throw .malformed }
        guard let header = try? JSONDecoder().decode(Header.self, from: headerData), header.alg == "HS256" else { throw .malformed }
        let signingInput = Array("\(parts[0]).\(parts[1])".utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else { throw .badSignature }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: claimsData), let userID = Int64(claims.sub), userID > 0,
              claims.role == "user" else { throw .malformed }
        guard claims.iss == issuer, claims.aud == audience else { throw .wrongAudienceOrIssuer }
        guard claims.exp + Self.skew > now, claims.nbf - Self.skew <= now else { throw .expired }
        let identity = Identity(userID: userID, userName: claims.name, clientID: claims.actor)
        verified.store(token, identity: identity, issuer: issuer, audience: audience, notBefore: claims.nbf, expires: claims.exp)
        return identity
    }

    /// Clock skew allowed on `nbf` and `exp`, in seconds.
    static let skew: Int64 = 5

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }
}

/// Recently verified tokens (bounded: emptied when full), each with its validity window.
final class VerifiedTokens: Sendable {
    private struct Entry {
        var identity: Identity
        var issuer: String
        var audience: String
        var notBefore: Int64
        var expires: Int64
    }

    /// Most tokens remembered.
    static let capacity = 4096
    private let entries = Mutex<[String: Entry]>([:])

    /// The identity of a token verified before for `issuer` and `audience`, if it is valid at `now`.
    func identity(of token: String, issuer: String, audience: String, now: Int64, skew: Int64) -> Identity? {
        guard let entry = entries.withLock({ $0[token] }), entry.issuer == issuer, entry.audience == audience,
              entry.expires + skew > now, entry.notBefore - skew <= now else { return nil }
        return entry.identity
    }

    /// Remembers a token that passed the full check.
    func store(_ token: String, identity: Identity, issuer: String, audience: String, notBefore: Int64, expires: Int64) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = Entry(identity: identity, issuer: issuer, audience: audience, notBefore: notBefore, expires: expires)
        }
    }
}
