import Crypto
import Foundation
import _CryptoExtras

/// Password hashing with PBKDF2-HMAC-SHA256 and a 16-byte random salt per user.
///
/// Stored form: `"2:<rounds>:<base64 salt>:<base64 key>"` (the leading number versions the
/// scheme, as in the reference's `"1:salt:hash"`); the round count travels with each hash, so it
/// can be raised later without invalidating stored passwords. Comparison is constant-time.
public struct PasswordHasher: Sendable {
    /// PBKDF2 rounds for new hashes (the OWASP minimum for SHA-256 is 600,000; the default here
    /// is 210,000, the swift-crypto floor; tests and load runs may lower it explicitly).
    public var rounds: Int

    /// A hasher with `rounds` PBKDF2 iterations for new hashes.
    public init(rounds: Int = 210_000) { self.rounds = rounds }

    /// Hashes `password` with a fresh salt.
    public func hash(_ password: String) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = rng.next() }
        let key = try Self.derive(password, salt: salt, rounds: rounds)
        return "2:\(rounds):\(Data(salt).base64EncodedString()):\(Data(key).base64EncodedString())"
    }

    /// Whether `password` matches `stored` (constant-time comparison of the derived keys).
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: ":")
        guard parts.count == 4, parts[0] == "2", let rounds = Int(parts[1]), rounds > 0, rounds <= 10_000_000,
              let salt = Data(base64Encoded: String(parts[2])), let expected = Data(base64Encoded: String(parts[3])),
              let key = try? Self.derive(password, salt: Array(salt), rounds: rounds) else { return false }
        return Self.constantTimeEqual(key, Array(expected))
    }

    static func derive(_ password: String, salt: [UInt8], rounds: Int) throws -> [UInt8] {
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: rounds)
        return key.withUnsafeBytes { Array($0) }
    }

    /// Compares without an early exit, so timing does not reveal where two values differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
