/// `POST /api/registration` body.
public struct RegistrationRequest: Codable, Sendable, Hashable {
    public var userName: String
    public var password: String?
    public var displayName: String
    public var phone: String
    public var email: String
    /// A registration.
    public init(userName: String, password: String?, displayName: String, phone: String, email: String) {
        self.userName = userName
        self.password = password
        self.displayName = displayName
        self.phone = phone
        self.email = email
    }
}

/// `POST /api/session` body.
public struct SessionRequest: Codable, Sendable, Hashable {
    public var userName: String
    public var password: String
    /// A log-in request.
    public init(userName: String, password: String) {
        self.userName = userName
        self.password = password
    }
}

/// `POST /api/session` response.
public struct SessionResponse: Codable, Sendable, Hashable {
    /// A new ID for this device/session (the JWT's actor claim).
    public var clientId: String
    /// The bearer token (JWT, HS256).
    public var accessToken: String
    /// The caller's full profile.
    public var profile: ProfileFull
    /// Base URL of the messaging server that owns the user's partition.
    public var messagingServerAddress: String
    /// `host:port` of the gRPC real-time API (`chatwire.Messaging`) of that messaging server,
    /// when the server answering the login is the one serving the user and runs a gRPC listener;
    /// absent otherwise (log in at ``messagingServerAddress`` to learn it).
    public var messagingGrpcAddress: String?
    /// A session.
    public init(clientId: String, accessToken: String, profile: ProfileFull, messagingServerAddress: String, messagingGrpcAddress: String? = nil) {
        self.clientId = clientId
        self.accessToken = accessToken
        self.profile = profile
        self.messagingServerAddress = messagingServerAddress
        self.messagingGrpcAddress = messagingGrpcAddress
    }
}

/// A user's full profile (only ever shown to its owner).
public struct ProfileFull: Codable, Sendable, Hashable {
    public var userId: Int64
    /// The optimistic-concurrency token.
    public var version: ChatTimestamp
    public var userName: String
    public var displayName: String
    public var avatarUrl: String
    public var phone: String
    public var email: String
    /// A profile.
    public init(userId: Int64, version: ChatTimestamp, userName: String, displayName: String, avatarUrl: String, phone: String, email: String) {
        self.userId = userId
        self.version = version
        self.userName = userName
        self.displayName = displayName
        self.avatarUrl = avatarUrl
        self.phone = phone
        self.email = email
    }
}

/// What anyone may see of a user.
public struct ProfilePublic: Codable, Sendable, Hashable {
    public var userId: Int64
    public var userName: String
    public var displayName: String
    public var avatarUrl: String
    /// A public profile.
    public init(userId: Int64, userName: String, displayName: String, avatarUrl: String) {
        self.userId = userId
        self.userName = userName
        self.displayName = displayName
        self.avatarUrl = avatarUrl
    }
}

/// `PUT /api/profile/password` body.
public struct ChangePasswordRequest: Codable, Sendable, Hashable {
    public var newPassword: String
    public var version: ChatTimestamp
    /// A password change against the profile version the client holds.
    public init(newPassword: String, version: ChatTimestamp) {
        self.newPassword = newPassword
        self.version = version
    }
}

/// `PUT /api/profile` body.
public struct UpdateProfileRequest: Codable, Sendable, Hashable {
    public var displayName: String
    public var version: ChatTimestamp
    /// A profile edit against the profile version the client holds.
    public init(displayName: String, version: ChatTimestamp) {
        self.displayName = displayName
        self.version = version
    }
}

/// A response carrying the entity's new optimistic-concurrency version.
public struct NewVersionResponse: Codable, Sendable, Hashable {
    public var newVersion: ChatTimestamp
    /// A new version.
    public init(newVersion: ChatTimestamp) { self.newVersion = newVersion }
}

/// A request carrying the version the client holds.
public struct VersionRequest: Codable, Sendable, Hashable {
    public var version: ChatTimestamp
    /// A version.
    public init(version: ChatTimestamp) { self.version = version }
}

/// `GET /api/profiles/{id}` response.
public struct ProfileResponse: Codable, Sendable, Hashable {
    public var profile: ProfilePublic
    /// A public profile.
    public init(profile: ProfilePublic) { self.profile = profile }
}

/// `GET /api/profiles` response.
public struct ProfilesResponse: Codable, Sendable, Hashable {
    public var profiles: [ProfilePublic]
    /// Public profiles.
    public init(profiles: [ProfilePublic]) { self.profiles = profiles }
}

/// An RFC 7807 problem, the body of every 4xx/5xx response.
public struct ProblemDetails: Codable, Sendable, Hashable, Error {
    public var type: String?
    public var title: String
    public var status: Int
    public var detail: String?
    /// Per-property validation messages.
    public var errors: [String: [String]]?
    /// A problem.
    public init(type: String? = nil, title: String, status: Int, detail: String? = nil, errors: [String: [String]]? = nil) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.errors = errors
    }
}
