/// One of the reference system's services, run by a `chat-server` process when it is among the
/// process's roles (``ChatDeployment/roles``; all of them by default).
///
/// Roles in one process call each other directly through the ports; a role run by another process
/// is reached over gRPC (GRPCWire) with the internal contracts in `Protos/chatwire/internal_*.proto`
/// at the address the deployment gives for it (``ChatDeployment/idgenAddress`` and the others).
public enum ChatRole: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    /// The HTTP/JSON API (registration, sessions, profiles, connections, chats, files, admin config).
    case bff
    /// The real-time API (WebSocket and gRPC), fan-out, and the backplane's live consumer.
    case messaging
    /// Snowflake message IDs (`chatwire.internal.IdGen`).
    case idgen
    /// Users, connections and file metadata (`chatwire.internal.Auth`, `ProfileCommand`, ...).
    case user
    /// History and chat state: the backplane's durable consumer and `chatwire.internal.Chats`.
    case chats
    /// Dynamic config elements (`chatwire.internal.Config`).
    case config

    public var description: String { rawValue }

    public static func < (lhs: ChatRole, rhs: ChatRole) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// The roles a process runs given `names` (empty: all); throws on an unknown name.
    public static func parse(_ names: [String]) throws -> Set<ChatRole> {
        if names.isEmpty { return Set(allCases) }
        var roles = Set<ChatRole>()
        for name in names {
            guard let role = ChatRole(rawValue: name.lowercased()) else {
                throw ChatDeployment.SettingError(description: "unknown role '\(name)' (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            roles.insert(role)
        }
        return roles
    }

    /// The roles served over the internal gRPC port (everything but the client-facing ones).
    public static let internalRoles: Set<ChatRole> = [.idgen, .user, .chats, .config]
}
