import ChatWire
import GRPCWire
import SwiftProtobuf

/// The gRPC methods of the internal contracts (`Protos/chatwire/internal_*.proto`), shared by
/// the internal server (``InternalGRPCServer``) and the remote ports.
public enum InternalMethods {
    static let package = "chatwire.internal"

    private static func unary<Request, Response>(_ service: String, _ method: String) -> MethodDescriptor<Request, Response>
    where Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message {
        MethodDescriptor(service: "\(package).\(service)", method: method, kind: .unary)
    }

    /// `chatwire.internal.IdGen`.
    public enum IdGen {
        public static let generateOne: MethodDescriptor<Chatwire_Internal_GenerateOneRequest, Chatwire_Internal_GenerateOneResponse> = unary("IdGen", "GenerateOne")
        public static let generateMany: MethodDescriptor<Chatwire_Internal_GenerateManyRequest, Chatwire_Internal_GenerateManyResponse> = unary("IdGen", "GenerateMany")
    }

    /// `chatwire.internal.Auth`, `ProfileCommand`, `ProfileQuery`, `ConnectionCommand`,
    /// `ConnectionQuery`, `FileCommand`, `FileQuery`.
    public enum User {
        public static let register: MethodDescriptor<Chatwire_Internal_RegisterRequest, Chatwire_Internal_RegisterResponse> = unary("Auth", "Register")
        public static let userByName: MethodDescriptor<Chatwire_Internal_GetUserByNameRequest, Chatwire_Internal_GetUserResponse> = unary("Auth", "GetUserByName")
        public static let userByID: MethodDescriptor<Chatwire_Internal_GetUserByIdRequest, Chatwire_Internal_GetUserResponse> = unary("Auth", "GetUserById")
        public static let changePassword: MethodDescriptor<Chatwire_Internal_ChangePasswordRequest, Chatwire_Internal_VersionedUpdateResponse> = unary("ProfileCommand", "ChangePassword")
        public static let updateProfile: MethodDescriptor<Chatwire_Internal_UpdateProfileRequest, Chatwire_Internal_VersionedUpdateResponse> = unary("ProfileCommand", "UpdateProfile")
        public static let profilesByID: MethodDescriptor<Chatwire_Internal_GetPublicProfilesByIdListRequest, Chatwire_Internal_GetPublicProfilesResponse> = unary("ProfileQuery", "GetPublicProfilesByIdList")
        public static let profilesByPattern: MethodDescriptor<Chatwire_Internal_GetPublicProfilesByPatternRequest, Chatwire_Internal_GetPublicProfilesResponse> = unary("ProfileQuery", "GetPublicProfilesByPattern")
        public static let invite: MethodDescriptor<Chatwire_Internal_InviteRequest, Chatwire_Internal_ConnectionCommandResponse> = unary("ConnectionCommand", "Invite")
        public static let approve: MethodDescriptor<Chatwire_Internal_ConnectionTransitionRequest, Chatwire_Internal_ConnectionCommandResponse> = unary("ConnectionCommand", "Approve")
        public static let cancel: MethodDescriptor<Chatwire_Internal_ConnectionTransitionRequest, Chatwire_Internal_ConnectionCommandResponse> = unary("ConnectionCommand", "Cancel")
        public static let remove: MethodDescriptor<Chatwire_Internal_ConnectionTransitionRequest, Chatwire_Internal_ConnectionCommandResponse> = unary("ConnectionCommand", "Remove")
        public static let connection: MethodDescriptor<Chatwire_Internal_GetConnectionRequest, Chatwire_Internal_GetConnectionResponse> = unary("ConnectionQuery", "GetConnection")
        public static let connections: MethodDescriptor<Chatwire_Internal_GetConnectionsRequest, Chatwire_Internal_GetConnectionsResponse> = unary("ConnectionQuery", "GetConnections")
        public static let associateFile: MethodDescriptor<Chatwire_Internal_AssociateFileRequest, Chatwire_Internal_AssociateFileResponse> = unary("FileCommand", "AssociateFile")
        public static let addFileAccess: MethodDescriptor<Chatwire_Internal_AddFileAccessRequest, Chatwire_Internal_VersionedUpdateResponse> = unary("FileCommand", "AddFileAccess")
        public static let userFiles: MethodDescriptor<Chatwire_Internal_GetUserFilesRequest, Chatwire_Internal_GetUserFilesResponse> = unary("FileQuery", "GetUserFiles")
        public static let file: MethodDescriptor<Chatwire_Internal_GetFileRequest, Chatwire_Internal_GetFileResponse> = unary("FileQuery", "GetFile")
    }

    /// `chatwire.internal.Chats`.
    public enum Chats {
        public static let userChats: MethodDescriptor<Chatwire_Internal_GetUserChatsRequest, Chatwire_Internal_GetUserChatsResponse> = unary("Chats", "GetUserChats")
        public static let history: MethodDescriptor<Chatwire_Internal_GetChatHistoryRequest, Chatwire_Internal_GetChatHistoryResponse> = unary("Chats", "GetChatHistory")
        public static let message: MethodDescriptor<Chatwire_Internal_GetChatMessageRequest, Chatwire_Internal_GetChatMessageResponse> = unary("Chats", "GetChatMessage")
    }

    /// `chatwire.internal.Config`.
    public enum Config {
        public static let elements: MethodDescriptor<Chatwire_Internal_GetConfigElementsRequest, Chatwire_Internal_GetConfigElementsResponse> = unary("Config", "GetConfigElements")
        public static let update: MethodDescriptor<Chatwire_Internal_UpdateConfigElementsRequest, Chatwire_Internal_UpdateConfigElementsResponse> = unary("Config", "UpdateConfigElements")
    }
}
