import NIOCore

/// Sans-I/O bookkeeping for one broker connection: which requests are in flight, in which order.
///
/// Kafka answers requests on a connection in the order they were sent; a response whose correlation id
/// is not the oldest outstanding one is a protocol violation that closes the connection.
public struct KafkaRequestStateMachine<Waiter> {
    /// One outstanding request.
    public struct InFlight {
        /// The correlation id sent.
        public var correlationID: Int32
        /// Whoever waits for the response.
        public var waiter: Waiter
    }

    /// What the connection must do after an event.
    public enum Action {
        /// Deliver `frame` to `waiter`.
        case deliver(Waiter, ByteBuffer)
        /// Fail every waiter and close: the peer broke the protocol or the connection is gone.
        case failAllAndClose([Waiter], KafkaConnectionError)
        /// Nothing to do.
        case none
    }

    private var inFlight = CircularBuffer<InFlight>(initialCapacity: 16)
    private var nextCorrelationID: Int32 = 1
    private var closed: KafkaConnectionError?

    /// Creates an idle state machine.
    public init() {}

    /// The number of requests awaiting a response.
    public var inFlightCount: Int { inFlight.count }

    /// Allocates the next correlation id.
    public mutating func nextID() -> Int32 {
        let id = nextCorrelationID
        nextCorrelationID = nextCorrelationID == .max ? 1 : nextCorrelationID + 1
        return id
    }

    /// Registers a request that expects a response. Returns an error if the connection is closed.
    public mutating func requestSent(correlationID: Int32, waiter: Waiter) -> KafkaConnectionError? {
        if let closed { return closed }
        inFlight.append(InFlight(correlationID: correlationID, waiter: waiter))
        return nil
    }

    /// A response frame (without size prefix) arrived.
    public mutating func frameReceived(_ frame: ByteBuffer) -> Action {
        guard let id = frame.getInteger(at: frame.readerIndex, as: Int32.self) else {
            return fail(.protocolViolation("response frame shorter than a correlation id"))
        }
        guard let first = inFlight.first else {
            return fail(.protocolViolation("unsolicited response with correlation id \(id)"))
        }
        guard first.correlationID == id else {
            return fail(.protocolViolation("response correlation id \(id), expected \(first.correlationID)"))
        }
        inFlight.removeFirst()
        return .deliver(first.waiter, frame)
    }

    /// The connection closed or errored.
    public mutating func fail(_ error: KafkaConnectionError) -> Action {
        if closed == nil { closed = error }
        let waiters = inFlight.map(\.waiter)
        inFlight.removeAll()
        return .failAllAndClose(waiters, error)
    }
}

/// Errors of a single broker connection.
public enum KafkaConnectionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The broker sent something that breaks the protocol; the connection was closed.
    case protocolViolation(String)
    /// The connection is closed; the request was not (or may not have been) answered.
    case closed(String)
    /// Connecting failed.
    case connectFailed(String)
    /// The broker does not support a version of this API that KafkaWire implements.
    case unsupportedAPI(KafkaAPI)
    /// Authentication failed.
    case authenticationFailed(String)
    /// The request took longer than its timeout.
    case timedOut(KafkaAPI)

    /// A readable description.
    public var description: String {
        switch self {
        case .protocolViolation(let s): "Kafka protocol violation: \(s)"
        case .closed(let s): "Kafka connection closed: \(s)"
        case .connectFailed(let s): "could not connect to Kafka broker: \(s)"
        case .unsupportedAPI(let api): "the broker supports no version of \(api) that KafkaWire implements"
        case .authenticationFailed(let s): "SASL authentication failed: \(s)"
        case .timedOut(let api): "\(api) request timed out"
        }
    }
}
