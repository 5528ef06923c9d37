/// SASL-style authentication for a CQL connection, pluggable so schemes like AWS SigV4 can be
/// added outside this module.
///
/// The server names its authenticator class in AUTHENTICATE; the connection asks the
/// authenticator for a per-connection ``AuthenticationSession`` and exchanges AUTH_RESPONSE /
/// AUTH_CHALLENGE tokens with it until AUTH_SUCCESS.
public protocol Authenticator: Sendable {
    /// Starts authenticating one connection to `host` whose server uses `authenticatorClass`.
    func makeSession(authenticatorClass: String, host: String) throws -> any AuthenticationSession
}

/// The per-connection state of an authentication exchange.
public protocol AuthenticationSession: Sendable {
    /// The first AUTH_RESPONSE token.
    func initialResponse() async throws -> [UInt8]?
    /// Answers an AUTH_CHALLENGE.
    func evaluateChallenge(_ token: [UInt8]?) async throws -> [UInt8]?
}

/// Username/password authentication (SASL PLAIN), as used by Cassandra's `PasswordAuthenticator`.
public struct PasswordAuthenticator: Authenticator {
    /// The role name.
    public var username: String
    /// The role's password.
    public var password: String

    /// Creates an authenticator for one role.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public func makeSession(authenticatorClass: String, host: String) throws -> any AuthenticationSession {
        Session(token: [0] + Array(self.username.utf8) + [0] + Array(self.password.utf8))
    }

    struct Session: AuthenticationSession {
        let token: [UInt8]
        func initialResponse() async throws -> [UInt8]? { self.token }
        func evaluateChallenge(_ token: [UInt8]?) async throws -> [UInt8]? { self.token }
    }
}
