import NIOCore
import WireCore

/// How the connection negotiates TLS with `SSLRequest` (libpq's `sslmode`).
public enum PostgresTLSMode: String, Sendable, Hashable, CaseIterable {
    /// Never use TLS.
    case disable
    /// Try TLS, fall back to plaintext if the server refuses.
    case prefer
    /// Require TLS, do not verify the certificate.
    case require
    /// Require TLS and verify the certificate chain, not the host name.
    case verifyCA = "verify-ca"
    /// Require TLS and verify the chain and the host name.
    case verifyFull = "verify-full"
}

/// The parameters the state machine needs to run startup and authentication.
struct StartupParameters: Sendable {
    var user: String
    var database: String?
    var password: String?
    var options: [String: String]
    var tlsMode: PostgresTLSMode
    /// When true, refuse to authenticate without SCRAM channel binding (libpq `channel_binding=require`).
    var requireChannelBinding: Bool
}

/// A query-phase event routed to the request at the head of the in-flight queue.
enum QueryEvent: Sendable {
    case parseComplete
    case bindComplete
    case closeComplete
    case noData
    case parameterDescription([PostgresDataType])
    case rowDescription([PostgresColumn])
    case dataRow(DataRow)
    case commandComplete(String)
    case emptyQuery
    case portalSuspended
    case copyInResponse(CopyResponse)
    case copyOutResponse(CopyResponse)
    case copyData(ByteBuffer)
    case copyDone
    case error(PostgresMessageFields)
}

/// Why startup failed (before the connection became ready).
enum StartupFailure: Error, Sendable {
    case server(PostgresMessageFields)
    case sslRefused
    case unsupportedAuthentication(String)
    case passwordRequired(String)
    case scram(SCRAMClient.SCRAMError)
    case channelBindingRequired
    case protocolViolation(PostgresProtocolError)
}

/// Sans-I/O PostgreSQL connection state machine.
///
/// It owns the connection phase (SSL negotiation, startup, authentication) and the FIFO of
/// requests in flight. Every request written to the server ends with exactly one
/// `ReadyForQuery` (each extended query carries its own `Sync`), so responses are routed to the
/// head of the queue and `ReadyForQuery` pops it. That is what makes pipelining and per-query error
/// isolation work. `Request` is an opaque handle owned by the I/O layer.
struct ConnectionStateMachine<Request> {
    enum State {
        case initialized
        case sslRequestSent
        case tlsHandshake
        case startupSent
        case authenticating(SCRAMClient?)
        case authenticated
        case ready
        case closed
    }

    enum Action {
        /// Nothing to do.
        case none
        /// Send these messages and flush.
        case write([FrontendMessage])
        /// Add the TLS handler and start the handshake; report with `tlsEstablished`.
        case startTLS
        /// Startup finished: the connection is ready for requests.
        case connected(backendKey: (processID: Int32, secretKey: Int32)?, parameters: [String: String])
        /// Startup failed: close the channel.
        case startupFailed(StartupFailure)
        /// Deliver an event to a request.
        case deliver(Request, QueryEvent)
        /// The request completed (its ReadyForQuery arrived).
        case complete(Request, TransactionStatus)
        /// A notice from the server.
        case notice(PostgresMessageFields)
        /// An asynchronous notification.
        case notification(processID: Int32, channel: String, payload: String)
        /// A run-time parameter changed.
        case parameterStatus(name: String, value: String)
        /// A protocol violation or fatal error: close and fail all in-flight requests.
        case closeAndFail(PostgresProtocolError)
    }

    private(set) var state: State = .initialized
    let parameters: StartupParameters
    private(set) var serverParameters: [String: String] = [:]
    private(set) var backendKey: (processID: Int32, secretKey: Int32)?
    private(set) var inFlight = CircularBuffer<Request>()
    private(set) var transactionStatus: TransactionStatus = .idle
    /// True once TLS is active on the channel.
    private(set) var tlsActive = false
    /// tls-server-end-point hash of the server certificate, when TLS is active.
    private var channelBindingData: [UInt8]?

    init(parameters: StartupParameters) {
        self.parameters = parameters
    }

    var isReady: Bool { if case .ready = state { return true } else { return false } }

    // MARK: connection phase

    /// The channel is connected.
    mutating func connected() -> Action {
        switch parameters.tlsMode {
        case .disable:
            return sendStartup()
        default:
            state = .sslRequestSent
            return .write([.sslRequest])
        }
    }

    /// The single-byte reply to SSLRequest arrived.
    mutating func sslResponse(_ byte: UInt8) -> Action {
        guard case .sslRequestSent = state else {
            return fail(.unexpectedMessage("SSL response", state: "\(state)"))
        }
        switch byte {
        case UInt8(ascii: "S"):
            state = .tlsHandshake
            return .startTLS
        case UInt8(ascii: "N"):
            if parameters.tlsMode == .prefer { return sendStartup() }
            state = .closed
            return .startupFailed(.sslRefused)
        default:
            return fail(.invalidSSLResponse(byte))
        }
    }

    /// The TLS handshake finished. `channelBinding` is the tls-server-end-point hash of the peer certificate.
    mutating func tlsEstablished(channelBinding: [UInt8]?) -> Action {
        guard case .tlsHandshake = state else { return fail(.unexpectedMessage("TLS handshake", state: "\(state)")) }
        tlsActive = true
        channelBindingData = channelBinding
        return sendStartup()
    }

    private mutating func sendStartup() -> Action {
        state = .startupSent
        var p = parameters.options
        p["user"] = parameters.user
        if let db = parameters.database { p["database"] = db }
        return .write([.startup(parameters: p)])
    }

    // MARK: requests

    /// A request's messages were written to the server.
    mutating func enqueue(_ request: Request) {
        inFlight.append(request)
    }

    /// The connection closed: returns the requests that must fail.
    mutating func closed() -> [Request] {
        state = .closed
        let failed = Array(inFlight)
        inFlight.removeAll()
        return failed
    }

    // MARK: messages

    /// A backend message arrived.
    mutating func received(_ message: BackendMessage) -> Action {
        switch message {
        case .noticeResponse(let f): return .notice(f)
        case .notification(let pid, let channel, let payload):
            return .notification(processID: pid, channel: channel, payload: payload)
        case .parameterStatus(let name, let value):
            serverParameters[name] = value
            if case .ready = state { return .parameterStatus(name: name, value: value) }
            return .none
        default: break
        }
        switch state {
        case .ready:
            return receivedInQuery(message)
        case .startupSent, .authenticating:
            return receivedDuringAuth(message)
        case .authenticated:
            switch message {
            case .backendKeyData(let pid, let key):
                backendKey = (pid, key)
                return .none
            case .readyForQuery(let status):
                transactionStatus = status
                state = .ready
                return .connected(backendKey: backendKey, parameters: serverParameters)
            case .errorResponse(let f):
                state = .closed
                return .startupFailed(.server(f))
            case .negotiateProtocolVersion:
                return .none
            default:
                return fail(.unexpectedMessage("\(message.name)", state: "waiting for ReadyForQuery after authentication"))
            }
        case .initialized, .sslRequestSent, .tlsHandshake, .closed:
            return fail(.unexpectedMessage("\(message.name)", state: "\(state)"))
        }
    }

    private mutating func receivedDuringAuth(_ message: BackendMessage) -> Action {
        switch message {
        case .errorResponse(let f):
            state = .closed
            return .startupFailed(.server(f))
        case .negotiateProtocolVersion:
            return .none
        case .authentication(let auth):
            switch auth {
            case .ok:
                if parameters.requireChannelBinding {
                    // Authentication succeeded without the PLUS mechanism having completed.
                    if case .authenticating(let scram?) = state, case .tlsServerEndPoint = scram.channelBinding {} else {
                        state = .closed
                        return .startupFailed(.channelBindingRequired)
                    }
                }
                state = .authenticated
                return .none
            case .cleartextPassword:
                guard let password = parameters.password else {
                    state = .closed
                    return .startupFailed(.passwordRequired("cleartext"))
                }
                if parameters.requireChannelBinding { state = .closed; return .startupFailed(.channelBindingRequired) }
                state = .authenticating(nil)
                return .write([.password(password)])
            case .md5Password(let salt):
                guard let password = parameters.password else {
                    state = .closed
                    return .startupFailed(.passwordRequired("MD5"))
                }
                if parameters.requireChannelBinding { state = .closed; return .startupFailed(.channelBindingRequired) }
                state = .authenticating(nil)
                return .write([.password(PostgresMD5.hash(user: parameters.user, password: password, salt: salt))])
            case .sasl(let mechanisms):
                guard let password = parameters.password else {
                    state = .closed
                    return .startupFailed(.passwordRequired("SCRAM-SHA-256"))
                }
                let binding: SCRAMClient.ChannelBinding
                if mechanisms.contains("SCRAM-SHA-256-PLUS"), tlsActive, let cb = channelBindingData {
                    binding = .tlsServerEndPoint(cb)
                } else if mechanisms.contains("SCRAM-SHA-256") {
                    if parameters.requireChannelBinding { state = .closed; return .startupFailed(.channelBindingRequired) }
                    binding = tlsActive && channelBindingData != nil ? .supportedButNotUsed : .unsupported
                } else {
                    state = .closed
                    return .startupFailed(.unsupportedAuthentication("SASL mechanisms \(mechanisms)"))
                }
                // The server ignores the SCRAM user name (it takes the startup user). Passwords are
                // SASLprep'd, falling back to the raw password as the server and libpq do.
                let scram: SCRAMClient
                do {
                    scram = try SCRAMClient(hash: .sha256, username: "", password: password, channelBinding: binding,
                                            preparation: .saslPrepOrUnchanged)
                } catch {
                    state = .closed
                    return .startupFailed(.scram(error))
                }
                state = .authenticating(scram)
                return .write([.saslInitialResponse(mechanism: scram.mechanism, data: Array(scram.clientFirstMessage().utf8))])
            case .saslContinue(let data):
                guard case .authenticating(var scram?) = state else {
                    return fail(.unexpectedMessage("AuthenticationSASLContinue", state: "not in SASL"))
                }
                do {
                    let final = try scram.clientFinalMessage(serverFirst: data)
                    state = .authenticating(scram)
                    return .write([.saslResponse(final)])
                } catch {
                    state = .closed
                    return .startupFailed(.scram(error))
                }
            case .saslFinal(let data):
                guard case .authenticating(let scram?) = state else {
                    return fail(.unexpectedMessage("AuthenticationSASLFinal", state: "not in SASL"))
                }
                do {
                    try scram.verifyServerFinal(data)
                    return .none
                } catch {
                    state = .closed
                    return .startupFailed(.scram(error))
                }
            case .kerberosV5, .gss, .gssContinue, .sspi:
                state = .closed
                return .startupFailed(.unsupportedAuthentication("\(auth)"))
            }
        default:
            return fail(.unexpectedMessage(message.name, state: "authenticating"))
        }
    }

    @inline(__always)
    private mutating func receivedInQuery(_ message: BackendMessage) -> Action {
        guard let head = inFlight.first else {
            if case .errorResponse(let f) = message {
                // A FATAL error outside any request (e.g. administrator shutdown): the server closes next.
                return .notice(f)
            }
            return fail(.unexpectedMessage(message.name, state: "idle with no request in flight"))
        }
        switch message {
        case .dataRow(let row): return .deliver(head, .dataRow(row))
        case .rowDescription(let c): return .deliver(head, .rowDescription(c))
        case .commandComplete(let tag): return .deliver(head, .commandComplete(tag))
        case .parseComplete: return .deliver(head, .parseComplete)
        case .bindComplete: return .deliver(head, .bindComplete)
        case .closeComplete: return .deliver(head, .closeComplete)
        case .noData: return .deliver(head, .noData)
        case .parameterDescription(let t): return .deliver(head, .parameterDescription(t))
        case .emptyQueryResponse: return .deliver(head, .emptyQuery)
        case .portalSuspended: return .deliver(head, .portalSuspended)
        case .copyInResponse(let r): return .deliver(head, .copyInResponse(r))
        case .copyOutResponse(let r): return .deliver(head, .copyOutResponse(r))
        case .copyData(let d): return .deliver(head, .copyData(d))
        case .copyDone: return .deliver(head, .copyDone)
        case .errorResponse(let f): return .deliver(head, .error(f))
        case .readyForQuery(let status):
            transactionStatus = status
            inFlight.removeFirst()
            return .complete(head, status)
        case .copyBothResponse:
            return fail(.unexpectedMessage("CopyBothResponse", state: "query (replication is not supported)"))
        case .authentication, .backendKeyData, .negotiateProtocolVersion, .noticeResponse, .notification, .parameterStatus:
            return fail(.unexpectedMessage(message.name, state: "query"))
        }
    }

    private mutating func fail(_ error: PostgresProtocolError) -> Action {
        state = .closed
        return .closeAndFail(error)
    }
}

extension BackendMessage {
    /// The message's protocol name.
    var name: String {
        switch self {
        case .authentication: return "Authentication"
        case .backendKeyData: return "BackendKeyData"
        case .bindComplete: return "BindComplete"
        case .closeComplete: return "CloseComplete"
        case .commandComplete: return "CommandComplete"
        case .copyData: return "CopyData"
        case .copyDone: return "CopyDone"
        case .copyInResponse: return "CopyInResponse"
        case .copyOutResponse: return "CopyOutResponse"
        case .copyBothResponse: return "CopyBothResponse"
        case .dataRow: return "DataRow"
        case .emptyQueryResponse: return "EmptyQueryResponse"
        case .errorResponse: return "ErrorResponse"
        case .negotiateProtocolVersion: return "NegotiateProtocolVersion"
        case .noData: return "NoData"
        case .noticeResponse: return "NoticeResponse"
        case .notification: return "NotificationResponse"
        case .parameterDescription: return "ParameterDescription"
        case .parameterStatus: return "ParameterStatus"
        case .parseComplete: return "ParseComplete"
        case .portalSuspended: return "PortalSuspended"
        case .readyForQuery: return "ReadyForQuery"
        case .rowDescription: return "RowDescription"
        }
    }
}
