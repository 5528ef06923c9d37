import NIOCore

/// The sans-I/O core of one Redis connection: matches replies to requests in order, recognises
/// out-of-band pushes (pub/sub messages, client-side-cache invalidations) in RESP3 and in RESP2
/// subscribed mode, and decides what happens on protocol errors and connection loss.
///
/// Events go in (`enqueue`, `received`, `decodeFailed`, `closed`), actions come out; it never
/// touches a channel, so it is tested with plain values.
/// How a request is answered.
enum RedisReplyShape: Equatable, Sendable {
    /// One reply value.
    case single
    /// A (un)subscribe command answered by one confirmation per channel, which in RESP3
    /// arrive as pushes. `kind` is the lower-case command name (`subscribe`, `sunsubscribe`).
    /// When `channels` is not empty, only confirmations naming one of them count (a server-side
    /// `sunsubscribe` after a cluster slot moved must not be taken for ours).
    case subscription(kind: String, confirmations: Int, channels: [String] = [])
}

struct RedisConnectionStateMachine<Request> {
    typealias ReplyShape = RedisReplyShape

    struct Pending {
        var request: Request
        var shape: ReplyShape
        /// Replies expected: a pipeline of n commands is one entry answered n times.
        var replies: Int
        /// `shape` is a subscription (checked per reply without copying the shape).
        var isSubscription: Bool
    }

    enum State {
        case active
        case closed(reason: String)
    }

    enum EnqueueAction {
        case write
        case fail(Request, RedisConnectionError)
    }

    enum ReceiveAction {
        /// Deliver `value` (which may be an error reply) to `request`; `last` when it was the
        /// last reply the request waits for (a pipeline gets one per command).
        case reply(Request, RESPValue, last: Bool)
        /// Deliver an out-of-band push.
        case push(RESPValue)
        /// Deliver a subscription confirmation push, and complete `request` if it was the last one.
        case pushAndReply(RESPValue, Request?)
        /// The server sent something that cannot be matched: fail everything and close.
        case protocolViolation([Request], RedisConnectionError)
    }

    private(set) var state: State = .active
    private(set) var pending = CircularBuffer<Pending>(initialCapacity: 16)
    /// Replies the first pending request already received.
    private var headReplies = 0
    /// RESP version negotiated for this connection (2 until `HELLO 3` succeeds).
    var protocolVersion = 2
    /// Number of channels/patterns the server says this connection is subscribed to.
    private(set) var subscriptionCount = 0

    static var subscriptionKinds: Set<String> {
        ["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"]
    }
    static var messageKinds: Set<String> { ["message", "pmessage", "smessage"] }

    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    var inFlightCount: Int { pending.count }

    /// Queues a request answered by `replies` replies in order (`replies` > 1: a pipeline of
    /// that many commands, each with a `.single` reply).
    mutating func enqueue(_ request: Request, shape: ReplyShape = .single, replies: Int = 1) -> EnqueueAction {
        switch state {
        case .closed(let reason):
            return .fail(request, .notSent(reason: reason))
        case .active:
            if case .subscription(_, let n, _) = shape {
                precondition(n > 0, "a subscription command needs at least one channel")
                precondition(replies == 1, "a subscription command is never part of a pipeline")
            }
            precondition(replies > 0, "a request waits for at least one reply")
            let isSubscription: Bool
            if case .subscription = shape { isSubscription = true } else { isSubscription = false }
            pending.append(Pending(request: request, shape: shape, replies: replies, isSubscription: isSubscription))
            return .write
        }
    }

    mutating func received(_ value: RESPValue) -> ReceiveAction {
        switch value {
        case .attributed, .push, .array:
            let bare = value.withoutAttributes
            if case .push(let elements) = bare {
                return receivedPush(bare, elements: elements)
            }
            if protocolVersion == 2, case .array(let elements) = bare, isRESP2Push(elements) {
                return receivedPush(.push(elements), elements: elements)
            }
            return reply(value, isError: bare.isError)
        default:
            // Scalars (most replies): no unwrapping copy.
            return reply(value, isError: value.isError)
        }
    }

    /// An in-band reply: it answers the first pending request.
    private mutating func reply(_ value: RESPValue, isError: Bool) -> ReceiveAction {
        guard !pending.isEmpty else {
            return protocolViolation("reply \(value) arrived with no request waiting")
        }
        let head = pending.startIndex
        if pending[head].isSubscription, !isError {
            return protocolViolation("non-push reply \(value) to a subscription command")
        }
        headReplies &+= 1
        if headReplies < pending[head].replies {
            return .reply(pending[head].request, value, last: false)
        }
        headReplies = 0
        return .reply(pending.removeFirst().request, value, last: true)
    }

    private func isRESP2Push(_ elements: [RESPValue]) -> Bool {
        guard let kind = elements.first?.string?.lowercased() else { return false }
        let expectingConfirmation: Bool = {
            if case .subscription = pending.first?.shape { return true }
            return false
        }()
        guard subscriptionCount > 0 || expectingConfirmation else { return false }
        return Self.subscriptionKinds.contains(kind) || Self.messageKinds.contains(kind)
    }

    private mutating func receivedPush(_ value: RESPValue, elements: [RESPValue]) -> ReceiveAction {
        guard let kind = elements.first?.string?.lowercased(), Self.subscriptionKinds.contains(kind) else {
            return .push(value)
        }
        if elements.count >= 3, case .integer(let count) = elements[2] {
            subscriptionCount = Int(count)
        }
        guard var head = pending.first, case .subscription(let expected, let remaining, var channels) = head.shape, expected == kind else {
            // E.g. the server unsubscribed us from a shard channel after a slot moved.
            return .pushAndReply(value, nil)
        }
        if !channels.isEmpty {
            guard elements.count >= 2, let channel = elements[1].string, let i = channels.firstIndex(of: channel) else {
                return .pushAndReply(value, nil)
            }
            channels.remove(at: i)
        }
        if remaining > 1 {
            head.shape = .subscription(kind: expected, confirmations: remaining - 1, channels: channels)
            pending[pending.startIndex] = head
            return .pushAndReply(value, nil)
        }
        _ = pending.popFirst()
        return .pushAndReply(value, head.request)
    }

    private mutating func protocolViolation(_ reason: String) -> ReceiveAction {
        let error = RedisConnectionError.protocolViolation(reason)
        let failed = failAll(reason: reason)
        return .protocolViolation(failed, error)
    }

    /// The decoder rejected the input: every in-flight request fails and the connection closes.
    mutating func decodeFailed(_ description: String) -> ([Request], RedisConnectionError) {
        let failed = failAll(reason: "malformed reply: \(description)")
        return (failed, .protocolViolation("malformed reply: \(description)"))
    }

    /// The channel closed; returns the requests to fail with `connectionClosed`.
    mutating func closed(reason: String) -> [Request] {
        failAll(reason: reason)
    }

    private mutating func failAll(reason: String) -> [Request] {
        if case .active = state { state = .closed(reason: reason) }
        let failed = pending.map(\.request)
        pending.removeAll()
        headReplies = 0
        return failed
    }
}
