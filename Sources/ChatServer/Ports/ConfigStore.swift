import ChatWire

/// Why a config update was refused.
public enum ConfigUpdateError: Error, Sendable, Hashable {
    case newElementsExist
    case concurrentlyUpdated
    case invalid([ValidationFailure])
}

/// Dynamic config elements (Redis or PostgreSQL distributed, SQLite embedded).
public protocol ConfigStore: Sendable {
    func elements() async throws -> [ConfigElement]
    /// Applies the update atomically; returns the distinct sections touched.
    func update(_ request: ConfigUpdateRequest) async throws -> Set<String>
}
