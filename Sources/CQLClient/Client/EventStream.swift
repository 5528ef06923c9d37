import Synchronization

/// Fans server events out to every subscriber.
final class CQLEventBroadcaster: Sendable {
    private let continuations = Mutex<[Int: AsyncStream<CQLEvent>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)

    func subscribe(bufferingNewest limit: Int) -> AsyncStream<CQLEvent> {
        let id = self.nextID.add(1, ordering: .relaxed).oldValue
        let (stream, continuation) = AsyncStream<CQLEvent>.makeStream(bufferingPolicy: .bufferingNewest(limit))
        continuation.onTermination = { [weak self] _ in
            _ = self?.continuations.withLock { $0.removeValue(forKey: id) }
        }
        self.continuations.withLock { $0[id] = continuation }
        return stream
    }

    func publish(_ event: CQLEvent) {
        let targets = self.continuations.withLock { Array($0.values) }
        for continuation in targets { continuation.yield(event) }
    }

    func finish() {
        let targets = self.continuations.withLock { state -> [AsyncStream<CQLEvent>.Continuation] in
            defer { state.removeAll() }
            return Array(state.values)
        }
        for continuation in targets { continuation.finish() }
    }
}
