import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A Swift client for the chat server's HTTP/JSON API and its real-time stream (WebSocket or gRPC).
///
/// ```swift
/// let client = ChatClient(host: "127.0.0.1", port: 8080)
/// try await client.register(RegistrationRequest(...))
/// let session = try await client.logIn(userName: "alice", password: "secret-password")
/// let realtime = try await client.connectRealtime()
/// ```
///
/// One `ChatClient` is one device: logging in gives it a client ID and a token that every later
/// call carries.
public final class ChatClient: Sendable {
    /// Server host.
    public let host: String
    /// Server port.
    public let port: Int
    private let group: any EventLoopGroup
    private let connection: HTTPConnection
    private let logger: Logger
    private let sessionState = Mutex<SessionResponse?>(nil)

    /// A client for the server at `host:port`.
    public init(host: String, port: Int, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "chatwire.client")) {
        self.host = host
        self.port = port
        self.group = eventLoopGroup
        self.connection = HTTPConnection(host: host, port: port, group: eventLoopGroup)
        self.logger = logger
    }

    /// The current session, if logged in.
    public var session: SessionResponse? { sessionState.withLock { $0 } }

    /// Uses an existing session (e.g. one created by another `ChatClient`).
    public func adopt(session: SessionResponse) { sessionState.withLock { $0 = session } }

    /// Closes the HTTP connection.
    public func close() async { await connection.close() }

    // MARK: auth and profile

    /// `POST /api/registration`. Returns the registration echoed with the password removed.
    @discardableResult
    public func register(_ registration: RegistrationRequest) async throws -> RegistrationRequest {
        try await call(.POST, "/api/registration", body: registration, authorized: false)
    }

    /// `POST /api/session`: logs in and keeps the session for later calls.
    @discardableResult
    public func logIn(userName: String, password: String) async throws -> SessionResponse {
        let session: SessionResponse = try await call(.POST, "/api/session", body: SessionRequest(userName: userName, password: password), authorized: false)
        sessionState.withLock { $0 = session }
        return session
    }

    /// `PUT /api/profile/password`.
    public func changePassword(to newPassword: String, version: ChatTimestamp) async throws -> ChatTimestamp {
        let r: NewVersionResponse = try await call(.PUT, "/api/profile/password", body: ChangePasswordRequest(newPassword: newPassword, version: version))
        return r.newVersion
    }

    /// `PUT /api/profile`.
    public func updateProfile(displayName: String, version: ChatTimestamp) async throws -> ChatTimestamp {
        let r: NewVersionResponse = try await call(.PUT, "/api/profile", body: UpdateProfileRequest(displayName: displayName, version: version))
        return r.newVersion
    }

    /// `GET /api/profiles/{id}`.
    public func profile(of userID: Int64) async throws -> ProfilePublic {
        let r: ProfileResponse = try await call(.GET, "/api/profiles/\(userID)")
        return r.profile
    }

    /// `GET /api/profiles?userIds=...`.
    public func profiles(of userIDs: [Int64]) async throws -> [ProfilePublic] {
        let r: ProfilesResponse = try await call(.GET, "/api/profiles?userIds=\(userIDs.map(String.init).joined(separator: ","))")
        return r.profiles
    }

    /// `GET /api/profiles?searchPattern=...`.
    public func searchProfiles(_ pattern: String) async throws -> [ProfilePublic] {
        let r: ProfilesResponse = try await call(.GET, "/api/profiles?searchPattern=\(Self.percentEncode(pattern))")
        return r.profiles
    }

    // MARK: connections

    /// `GET /api/connections`.
    public func connections() async throws -> [ConnectionInfo] {
        let r: ConnectionsResponse = try await call(.GET, "/api/connections")
        return r.connections
    }

    /// `POST /api/connections/{id}/invite`.
    public func invite(_ userID: Int64) async throws -> ChatTimestamp {
        let r: InviteResponse = try await call(.POST, "/api/connections/\(userID)/invite", body: EmptyBody())
        return r.version
    }

    /// `PUT /api/connections/{id}/invite`: approves a pending invitation.
    public func approve(_ userID: Int64, version: ChatTimestamp) async throws -> ChatTimestamp {
        let r: NewVersionResponse = try await call(.PUT, "/api/connections/\(userID)/invite", body: VersionRequest(version: version))
        return r.newVersion
    }

    /// `DELETE /api/connections/{id}/invite`: cancels a pending invitation.
    public func cancelInvite(_ userID: Int64, version: ChatTimestamp) async throws -> ChatTimestamp {
        let r: NewVersionResponse = try await call(.DELETE, "/api/connections/\(userID)/invite", body: VersionRequest(version: version))
        return r.newVersion
    }

    /// `DELETE /api/connections/{id}`: removes a friendship.
    public func removeConnection(_ userID: Int64, version: ChatTimestamp) async throws -> ChatTimestamp {
        let r: NewVersionResponse = try await call(.DELETE, "/api/connections/\(userID)", body: VersionRequest(version: version))
        return r.newVersion
    }

    // MARK: chats and screens

    /// `GET /api/chats/user?newerThan=`.
    public func userChats(newerThan: ChatTimestamp = .snowflakeEpoch) async throws -> [ChatSummary] {
        let r: UserChatsResponse = try await call(.GET, "/api/chats/user?newerThan=\(Self.percentEncode(newerThan.description))")
        return r.chats
    }

    /// `GET /api/chats/history?otherUserId=&olderThan=`: newest first, one page.
    public func history(with otherUserID: Int64, olderThan: ChatTimestamp = .now()) async throws -> [HistoryMessageInfo] {
        let r: HistoryResponse = try await call(.GET, "/api/chats/history?otherUserId=\(otherUserID)&olderThan=\(Self.percentEncode(olderThan.description))")
        return r.messages
    }

    /// `GET /api/screens/allChats`.
    public func allChatsScreen(chatsNewerThan: ChatTimestamp = .snowflakeEpoch, filesNewerThan: ChatTimestamp = .snowflakeEpoch, includeProfiles: Bool = true) async throws -> AllChatsScreen {
        try await call(.GET, "/api/screens/allChats?chatsNewerThan=\(Self.percentEncode(chatsNewerThan.description))&filesNewerThan=\(Self.percentEncode(filesNewerThan.description))&includeProfiles=\(includeProfiles)")
    }

    /// `GET /api/screens/oneChat`.
    public func oneChatScreen(with otherUserID: Int64, messagesOlderThan: ChatTimestamp = .now(), includeProfile: Bool = true, includeConnection: Bool = true) async throws -> OneChatScreen {
        try await call(.GET, "/api/screens/oneChat?otherUserId=\(otherUserID)&messagesOlderThan=\(Self.percentEncode(messagesOlderThan.description))&includeProfile=\(includeProfile)&includeConnection=\(includeConnection)")
    }

    // MARK: files

    /// `POST /api/files`: uploads `bytes` as `fileName` (its extension picks the content type).
    public func uploadFile(named fileName: String, bytes: [UInt8], allowedUserID: Int64 = 0) async throws -> FileRefInfo {
        guard let (_, contentType) = ChatValidation.contentType(forFileName: fileName) else {
            throw ChatClientError.http(status: 400, problem: ProblemDetails(title: "Unsupported file extension", status: 400))
        }
        let boundary = "----UserFileBoundary"
        var body = ByteBuffer()
        body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(fileName)\"\r\nContent-Type: \(contentType)\r\n\r\n")
        body.writeBytes(bytes)
        body.writeString("\r\n--\(boundary)--\r\n")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        headers.add(name: "Uploaded-File-Size", value: String(bytes.count))
        headers.add(name: "Uploaded-File-Allowed-UserId", value: String(allowedUserID))
        let r: UploadFileResponse = try await raw(.POST, "/api/files", headers: headers, body: body)
        return r.file
    }

    /// `GET /api/files/{bucket}/{path}`: the file's bytes and content type.
    public func downloadFile(bucket: String, path: String) async throws -> (bytes: [UInt8], contentType: String) {
        let response = try await send(.GET, "/api/files/\(bucket)/\(Self.percentEncode(path))", headers: HTTPHeaders(), body: nil, authorized: true)
        try Self.check(response)
        return (Array(response.body.readableBytesView), response.headers["content-type"].first ?? "")
    }

    /// `GET /api/files/list?newerThan=`.
    public func files(newerThan: ChatTimestamp = .snowflakeEpoch) async throws -> [FileRefInfo] {
        let r: FilesResponse = try await call(.GET, "/api/files/list?newerThan=\(Self.percentEncode(newerThan.description))")
        return r.files
    }

    /// `PUT /api/files/{bucket}/{path}/access`.
    public func shareFile(bucket: String, path: String, with userID: Int64, version: ChatTimestamp) async throws -> ChatTimestamp {
        let r: NewVersionResponse = try await call(.PUT, "/api/files/\(bucket)/\(Self.percentEncode(path))/access", body: FileAccessRequest(allowedUserId: userID, version: version))
        return r.newVersion
    }

    // MARK: real time

    /// Opens the real-time stream (WebSocket, protobuf binary frames) for the current session.
    public func connectRealtime() async throws -> ChatRealtimeConnection {
        guard let session else { throw ChatClientError.notLoggedIn }
        return try await ChatRealtimeConnection.connect(host: host, port: port, accessToken: session.accessToken, group: group, logger: logger)
    }

    /// Opens the real-time stream for the current session over `transport`: WebSocket on the HTTP
    /// port, or gRPC (`chatwire.Messaging`) on the server's gRPC port.
    public func connectRealtime(over transport: ChatRealtimeTransport) async throws -> any ChatRealtime {
        switch transport {
        case .webSocket: return try await connectRealtime()
        case .grpc(let grpcPort): return try await connectRealtimeGRPC(port: grpcPort)
        }
    }

    /// Opens the real-time stream over gRPC on `port` (the server's gRPC port) for the current session.
    public func connectRealtimeGRPC(port grpcPort: Int) async throws -> ChatGRPCRealtimeConnection {
        guard let session else { throw ChatClientError.notLoggedIn }
        return try await ChatGRPCRealtimeConnection.connect(host: host, port: grpcPort, accessToken: session.accessToken, group: group, logger: logger)
    }

    // MARK: plumbing

    /// Sends a request with a JSON body and decodes a JSON response; non-2xx throws ``ChatClientError/http(status:problem:)``.
    public func call<Body: Encodable, Response: Decodable>(_ method: HTTPMethod, _ path: String, body: Body, authorized: Bool = true) async throws -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(try JSONEncoder().encode(body))
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return try await raw(method, path, headers: headers, body: buffer, authorized: authorized)
    }

    /// Sends a request without a body and decodes a JSON response.
    public func call<Response: Decodable>(_ method: HTTPMethod, _ path: String) async throws -> Response {
        try await raw(method, path, headers: HTTPHeaders(), body: nil)
    }

    /// Sends raw bytes and returns the raw response without checking its status.
    public func send(_ method: HTTPMethod, _ path: String, headers: HTTPHeaders, body: ByteBuffer?, authorized: Bool = true) async throws -> HTTPClientResponse {
        var headers = headers
        if authorized {
            guard let token = session?.accessToken else { throw ChatClientError.notLoggedIn }
            headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)")
        }
        return try await connection.execute(method: method, path: path, headers: headers, body: body)
    }

    private func raw<Response: Decodable>(_ method: HTTPMethod, _ path: String, headers: HTTPHeaders, body: ByteBuffer?, authorized: Bool = true) async throws -> Response {
        let response = try await send(method, path, headers: headers, body: body, authorized: authorized)
        try Self.check(response)
        do {
            return try JSONDecoder().decode(Response.self, from: Data(response.body.readableBytesView))
        } catch {
            throw ChatClientError.invalidResponse("\(method) \(path): \(error)")
        }
    }

    private static func check(_ response: HTTPClientResponse) throws {
        guard (200..<300).contains(response.status) else {
            let problem = try? JSONDecoder().decode(ProblemDetails.self, from: Data(response.body.readableBytesView))
            throw ChatClientError.http(status: response.status, problem: problem)
        }
    }

    /// Percent-encodes everything except unreserved characters and `/`.
    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(UnicodeScalar(hex[Int(byte >> 4)])) + String(UnicodeScalar(hex[Int(byte & 0xF)]))
            }
        }
        return out
    }
}

struct EmptyBody: Codable {}
