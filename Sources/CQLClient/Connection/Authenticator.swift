/// SASL-style authentication for a CQL connection, pluggable so schemes like AWS SigV4 can be
/// added outside this module.
public protocol CQLAuthenticator: Sendable {
    /// Starts authenticating one connection to `host` whose server uses `authenticatorClass`.
    func makeSession(authenticatorClass: String, host: String) throws -> any CQLAuthenticationSession
}

/// The per-connection state of an authentication exchange.
public protocol CQLAuthenticationSession: Sendable {
    /// The first AUTH_RESPONSE token.
    func initialResponse() async throws -> [UInt8]?
    /// Answers an AUTH_CHALLENGE.
    func evaluateChallenge(_ token: [UInt8]?) async throws -> [UInt8]?
}

/// Username/password authentication (SASL PLAIN), as used by Cassandra's `PasswordAuthenticator`.
public struct CQLPasswordAuthenticator: CQLAuthenticator {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public func makeSession(authenticatorClass: String, host: String) throws -> any CQLAuthenticationSession {
        Session(token: [0] + Array(self.username.utf8) + [0] + Array(self.password.utf8))
    }

    struct Session: CQLAuthenticationSession {
        let token: [UInt8]
        func initialResponse() async throws -> [UInt8]? { self.token }
        func evaluateChallenge(_ token: [UInt8]?) async throws -> [UInt8]? { self.token }
    }
}
