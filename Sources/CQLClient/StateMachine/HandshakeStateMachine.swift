/// The connection start-up sequence as a sans-I/O state machine:
/// OPTIONS -> SUPPORTED, STARTUP -> READY | AUTHENTICATE (-> AUTH_CHALLENGE* -> AUTH_SUCCESS),
/// then optional `USE keyspace` and REGISTER. On v5, framing switches to segments right after
/// the server's answer to STARTUP.
public struct CQLHandshakeStateMachine: Sendable {
    /// What the connection must do next.
    public enum Action: Sendable {
        case sendOptions
        case sendStartup(CQLStartupRequest.Options)
        /// Ask the authenticator for its first token for this authenticator class.
        case authenticate(authenticatorClass: String)
        /// Hand a challenge to the authenticator and send its answer.
        case answerChallenge(token: [UInt8]?)
        case sendUse(keyspace: String)
        case sendRegister([CQLEventType])
        /// Switch both directions to v5 segment framing (and compression, if negotiated).
        case enableSegmentsAndCompression
        /// Enable v4 frame compression for all following frames.
        case enableFrameCompression
        /// The server does not speak this version: reconnect with the given lower version.
        case retryWithVersion(CQLProtocolVersion)
        case ready(compression: CQLCompressionAlgorithm?)
        case fail(CQLHandshakeError)
    }

    enum State: Sendable {
        case idle
        case awaitingSupported
        case awaitingReady
        case authenticating
        case awaitingUse
        case awaitingRegister
        case done
        case failed
    }

    public let version: CQLProtocolVersion
    public let preferredCompression: CQLCompressionAlgorithm?
    public let keyspace: String?
    public let events: [CQLEventType]
    public let hasAuthenticator: Bool
    private(set) var state: State = .idle
    private(set) public var compression: CQLCompressionAlgorithm?
    /// The SUPPORTED options the server advertised.
    private(set) public var supported: [String: [String]] = [:]

    public init(version: CQLProtocolVersion, preferredCompression: CQLCompressionAlgorithm?, keyspace: String?,
                events: [CQLEventType], hasAuthenticator: Bool) {
        self.version = version
        self.preferredCompression = preferredCompression
        self.keyspace = keyspace
        self.events = events
        self.hasAuthenticator = hasAuthenticator
    }

    public mutating func start() -> Action {
        self.state = .awaitingSupported
        return .sendOptions
    }

    /// Feeds the response to the last request.
    public mutating func received(_ response: CQLResponse) -> [Action] {
        if case .error(let error) = response {
            let wasNegotiating = self.state == .awaitingSupported || self.state == .awaitingReady
            self.state = .failed
            if error.isUnsupportedProtocolVersion, self.version > .v4, wasNegotiating {
                return [.retryWithVersion(.v4)]
            }
            return [.fail(.server(error))]
        }
        switch (self.state, response) {
        case (.awaitingSupported, .supported(let options)):
            self.supported = options
            let offered = Set(options["COMPRESSION"] ?? [])
            if let preferred = self.preferredCompression, offered.contains(preferred.rawValue),
               !(preferred == .snappy && self.version >= .v5) {
                self.compression = preferred
            }
            self.state = .awaitingReady
            return [.sendStartup(.init(compression: self.compression))]
        case (.awaitingReady, .ready):
            return self.afterStartup(authenticated: false) + self.next()
        case (.awaitingReady, .authenticate(let authenticator)):
            guard self.hasAuthenticator else {
                self.state = .failed
                return [.fail(.authenticationRequired(authenticator))]
            }
            self.state = .authenticating
            return self.afterStartup(authenticated: true) + [.authenticate(authenticatorClass: authenticator)]
        case (.authenticating, .authChallenge(let token)):
            return [.answerChallenge(token: token)]
        case (.authenticating, .authSuccess):
            return self.next()
        case (.awaitingUse, .result):
            return self.next(afterUse: true)
        case (.awaitingRegister, .ready):
            self.state = .done
            return [.ready(compression: self.compression)]
        default:
            self.state = .failed
            return [.fail(.unexpectedResponse("\(response)"))]
        }
    }

    private func afterStartup(authenticated: Bool) -> [Action] {
        if self.version >= .v5 { return [.enableSegmentsAndCompression] }
        if self.compression != nil { return [.enableFrameCompression] }
        return []
    }

    private mutating func next(afterUse: Bool = false) -> [Action] {
        if !afterUse, let keyspace = self.keyspace {
            self.state = .awaitingUse
            return [.sendUse(keyspace: keyspace)]
        }
        if !self.events.isEmpty {
            self.state = .awaitingRegister
            return [.sendRegister(self.events)]
        }
        self.state = .done
        return [.ready(compression: self.compression)]
    }
}

extension CQLStartupRequest {
    /// The STARTUP options the handshake chose.
    public struct Options: Sendable, Equatable {
        public var compression: CQLCompressionAlgorithm?
        public init(compression: CQLCompressionAlgorithm?) { self.compression = compression }
    }
}

/// Why a connection could not be established.
public enum CQLHandshakeError: Error, Sendable, CustomStringConvertible {
    case server(CQLServerError)
    case authenticationRequired(String)
    case unexpectedResponse(String)

    public var description: String {
        switch self {
        case .server(let e): "handshake failed: \(e)"
        case .authenticationRequired(let cls): "the server requires authentication (\(cls)) but no authenticator is configured"
        case .unexpectedResponse(let r): "unexpected response during handshake: \(r)"
        }
    }
}
