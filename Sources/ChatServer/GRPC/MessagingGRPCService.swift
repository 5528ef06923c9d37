import ChatWire
import Foundation
import GRPCWire
import Logging

/// The real-time API over gRPC: service `chatwire.Messaging` (see ``MessagingMethods``).
///
/// `Listen` registers the call as one connection of the caller in the ``ClientRegistry`` (the
/// same registry the WebSocket connections are in, so fan-out, Processed/Lost acks and receipts
/// reach both kinds alike) and streams its notifications with HTTP/2 back-pressure behind a
/// bounded queue; a client that falls ``maxQueued`` notifications behind is dropped with
/// RESOURCE_EXHAUSTED (it catches up from history). The unary calls run the same
/// ``MessagingService`` actions as WebSocket frames.
struct MessagingGRPCService: GRPCService {
    let services: ChatServices
    let listeners: GRPCListeners
    /// Notifications queued for one slow listener before it is dropped.
    static let maxQueued = 4096

    func register(with router: inout ServiceRouter) {
        let services = self.services
        let messaging = services.messaging
        router.serverStreaming(MessagingMethods.listen) { _, writer, context in
            try await listen(writer: writer, context: context)
        }
        router.unary(MessagingMethods.sendPlainText) { request, context in
            let session = try caller(context)
            var out = Chatwire_SendPlainTextResponse()
            out.messageID = try Self.run { () throws(MessagingError) in try messaging.sendPlainText(request, from: session) }
            return out
        }
        router.unary(MessagingMethods.sendFile) { request, context in
            let session = try caller(context)
            var out = Chatwire_SendFileResponse()
            out.messageID = try Self.run { () throws(MessagingError) in try messaging.sendFile(request, from: session) }
            return out
        }
        router.unary(MessagingMethods.react) { request, context in
            let session = try caller(context)
            try Self.run { () throws(MessagingError) in try messaging.react(request, from: session) }
            return Chatwire_ReactResponse()
        }
        router.unary(MessagingMethods.unReact) { request, context in
            let session = try caller(context)
            try Self.run { () throws(MessagingError) in try messaging.unreact(request, from: session) }
            return Chatwire_UnReactResponse()
        }
        router.unary(MessagingMethods.ack) { request, context in
            let session = try caller(context)
            try Self.run { () throws(MessagingError) in try messaging.acknowledge(request, from: session) }
            return Chatwire_AckResponse()
        }
    }

    /// The caller's identity from `authorization: Bearer <token>`.
    func identity(_ context: ServerContext) throws(RPCError) -> Identity {
        guard let header = context.requestMetadata.first("authorization"), header.count > 7,
              header.prefix(7).lowercased() == "bearer " else {
            throw RPCError(code: .unauthenticated, message: "missing bearer token (metadata authorization: Bearer <token>)")
        }
        do {
            return try services.tokens.verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        } catch {
            throw RPCError(code: .unauthenticated, message: "invalid access token (\(error))")
        }
    }

    /// Refuses a user whose partition another messaging instance owns (as the WebSocket endpoint
    /// does with HTTP 421): FAILED_PRECONDITION with ``MessagingMethods/misdirectedKey``; the
    /// client creates a new session, which names the owner, and reconnects there.
    func requireServed(_ identity: Identity) throws(RPCError) {
        guard services.messaging.serves(identity.userID) else {
            var metadata = Metadata()
            metadata.add(MessagingMethods.misdirectedKey, "421")
            throw RPCError(code: MessagingMethods.statusCode(forHTTP: 421),
                           message: "Another messaging instance serves this user; create a new session.", metadata: metadata)
        }
    }

    /// The session a unary call acts as: the caller's listen connection when it names one.
    func caller(_ context: ServerContext) throws(RPCError) -> ClientSession {
        let identity = try identity(context)
        try requireServed(identity)
        var connectionID = context.requestMetadata.first(MessagingMethods.connectionIDKey) ?? ""
        if connectionID.isEmpty || connectionID.utf8.count > 64 { connectionID = makeConnectionID(prefix: "grpc-call-") }
        return ClientSession(userID: identity.userID, clientID: identity.clientID, connectionID: connectionID) { _ in true }
    }

    /// Runs a messaging action, turning its refusal into a gRPC status.
    static func run<T>(_ body: () throws(MessagingError) -> T) throws(RPCError) -> T {
        do {
            return try body()
        } catch {
            var metadata = Metadata()
            for failure in error.errors { metadata.add(MessagingMethods.errorsKey, failure) }
            let message = error.errors.isEmpty ? error.message : error.message + " " + error.errors.joined(separator: "; ")
            throw RPCError(code: MessagingMethods.statusCode(forHTTP: error.code), message: message, metadata: metadata)
        }
    }

    func listen(writer: ResponseWriter<Chatwire_ListenNotification>, context: ServerContext) async throws {
        // Set-up is a synchronous function kept out of line, so its locals live on the thread's
        // stack while it runs, not in the call task's frames that a listening client holds.
        let listener = try openListener(context)
        defer { listener.end() }
        try await writer.writeInitialMetadata()
        // Ends when the client cancels (the handler task is cancelled), the queue overflows, or
        // the server shuts down (the listeners are finished; the call ends OK and the client
        // reconnects elsewhere).
        try await withTaskCancellationHandler {
            while let notifications = await listener.outbox.next() {
                try await writer.write(contentsOf: notifications)
            }
        } onCancel: {
            listener.outbox.finish()
        }
        if listener.overflowed {
            throw RPCError(code: .resourceExhausted, message: "the client fell \(Self.maxQueued) notifications behind; catch up from history")
        }
    }

    /// Authenticates a listen call, registers its session and queue, and names the connection in
    /// the response headers. (The connection budget counts the call's TCP connection, accepted by
    /// the listener, not the call: see ``ConnectionBudget``.)
    @inline(never)
    func openListener(_ context: ServerContext) throws(RPCError) -> GRPCListener {
        let identity = try identity(context)
        try requireServed(identity)
        let listener = GRPCListener(userID: identity.userID, clientID: identity.clientID, services: services, listeners: listeners)
        guard services.registry.add(listener.session, limit: services.config.values.maxDevicesPerUser) else {
            listener.end(registered: false)
            throw RPCError(code: .resourceExhausted, message: "too many devices connected for this user")
        }
        var head = context.initialMetadata
        head.add(MessagingMethods.connectionIDKey, listener.session.connectionID)
        context.initialMetadata = head
        return listener
    }
}

/// One open listen call: its session in the client registry and its bounded queue, drained in
/// batches (one wake-up of the writer per burst).
final class GRPCListener: Sendable {
    let outbox: BatchQueue<Chatwire_ListenNotification>
    let session: ClientSession
    private let token: Int
    private let services: ChatServices
    private let listeners: GRPCListeners

    /// A listener for the user's device, registered with `listeners` (not yet with the client registry).
    init(userID: Int64, clientID: String, services: ChatServices, listeners: GRPCListeners) {
        let outbox = BatchQueue<Chatwire_ListenNotification>(capacity: MessagingGRPCService.maxQueued)
        self.outbox = outbox
        self.session = ClientSession(userID: userID, clientID: clientID, connectionID: makeConnectionID(prefix: "grpc-")) { frame in
            guard case .notification(let notification) = frame.payload else { return true }
            if outbox.append(notification) { return true }
            outbox.finish()
            return false
        }
        self.services = services
        self.listeners = listeners
        self.token = listeners.add(outbox)
    }

    /// Whether the client fell ``MessagingGRPCService/maxQueued`` notifications behind.
    var overflowed: Bool { outbox.overflowed }

    /// Unregisters the call (`registered`: also from the client registry).
    func end(registered: Bool = true) {
        listeners.remove(token)
        if registered { services.registry.remove(session) }
    }
}

/// The open listen calls, so a graceful shutdown can end them (their outboxes finish).
typealias GRPCListeners = ShutdownRegistry<BatchQueue<Chatwire_ListenNotification>>
