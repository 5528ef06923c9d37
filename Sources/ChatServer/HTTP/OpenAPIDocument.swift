import ChatWire

/// The OpenAPI 3 document served at `/openapi.json`, built from one table of endpoints
/// (``endpoints``) and one of schemas (``schemas``). Request schemas carry the limits the handlers
/// enforce (``ChatValidation``), so schema-driven testers generate and check them.
enum OpenAPIDocument {
    /// The document as JSON; `profileCount` is the current `user.profile-count` (the most IDs per
    /// profile batch).
    static func json(profileCount: Int) -> String {
        document(profileCount: profileCount).rendered()
    }

    static func document(profileCount: Int) -> JSONValue {
        var paths: [(String, [(String, JSONValue)])] = []
        for endpoint in endpoints(profileCount: profileCount) {
            let operation = (endpoint.method, endpoint.operation)
            if let i = paths.firstIndex(where: { $0.0 == endpoint.path }) {
                paths[i].1.append(operation)
            } else {
                paths.append((endpoint.path, [operation]))
            }
        }
        return [
            "openapi": "3.0.3",
            "info": [
                "title": "Wirestack chat API",
                "version": "1.0.0",
                "description": "The reference chat server's HTTP/JSON API (the CecoChat BFF, rebuilt). Errors are RFC 7807 problem documents. Real-time messaging is at /api/realtime (WebSocket) and on gRPC (service chatwire.Messaging).",
            ],
            "paths": .object(paths.map { ($0.0, .object($0.1)) }),
            "components": [
                "securitySchemes": [
                    "bearerAuth": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"],
                    "adminToken": ["type": "http", "scheme": "bearer", "description": "The server's --admin-token"],
                ],
                "responses": [
                    "Problem": [
                        "description": "An error (4xx/5xx) as an RFC 7807 problem",
                        "content": ["application/problem+json": ["schema": S.ref("Problem")]],
                    ],
                ],
                "schemas": .object(schemas),
            ],
        ]
    }

    // MARK: the endpoint table

    static func endpoints(profileCount: Int) -> [Endpoint] {
        let id = Parameter.path("id", S.id)
        // An object path is `{ownerId}/{fileName}`; it is documented as its two segments because an
        // OpenAPI path parameter cannot hold a `/` (schema-driven testers drop such values).
        let file = [Parameter.path("bucket", S.bucket), Parameter.path("ownerId", S.id, description: "The object path's first segment (the uploader's user ID)"),
                    Parameter.path("fileName", S.fileName, description: "The object path's last segment, e.g. 0f8fad5b-d9cb-469f-a165-70867728950e.png")]
        return [
            Endpoint(.post, "/api/registration", "Register a user", auth: .none, body: S.ref("RegistrationRequest"),
                     response: .json(S.ref("Registration"), status: "201", description: "Created; the registration echoed without the password")),
            Endpoint(.post, "/api/session", "Log in: create a session (JWT, client ID)", auth: .none, body: S.ref("SessionRequest"), response: .json(S.ref("Session"))),
            Endpoint(.put, "/api/profile/password", "Change the password (optimistic concurrency)", body: S.ref("ChangePassword"), response: .json(S.ref("NewVersion"))),
            Endpoint(.put, "/api/profile", "Edit the profile (optimistic concurrency)", body: S.ref("UpdateProfile"), response: .json(S.ref("NewVersion"))),
            Endpoint(.get, "/api/profiles/{id}", "A public profile", parameters: [id], response: .json(S.object(["profile": S.ref("ProfilePublic")]))),
            Endpoint(.get, "/api/profiles", "Public profiles by ID list or by name search (exactly one)", parameters: [
                .query("userIds", S.array(S.id, minItems: 1, maxItems: profileCount), description: "Comma-separated user IDs (at most user.profile-count)", commaSeparated: true),
                .query("searchPattern", S.string(min: 3, max: 32, pattern: #"^[^\W\d_]+$"#), description: "3-32 letters"),
            ], response: .json(S.ref("Profiles"))),
            Endpoint(.get, "/api/connections", "The caller's connections", response: .json(S.ref("Connections"))),
            Endpoint(.post, "/api/connections/{id}/invite", "Invite a user", parameters: [id], body: S.plainObject, bodyRequired: false,
                     response: .json(S.object(["version": S.ref("Timestamp")]))),
            Endpoint(.put, "/api/connections/{id}/invite", "Approve an invitation", parameters: [id], body: S.ref("VersionRequest"), response: .json(S.ref("NewVersion"))),
            Endpoint(.delete, "/api/connections/{id}/invite", "Cancel an invitation", parameters: [id], body: S.ref("VersionRequest"), response: .json(S.ref("NewVersion"))),
            Endpoint(.delete, "/api/connections/{id}", "Remove a connection", parameters: [id], body: S.ref("VersionRequest"), response: .json(S.ref("NewVersion"))),
            Endpoint(.get, "/api/chats/user", "The caller's chats with a newest message after newerThan", parameters: [.query("newerThan", S.dateTime, required: true)],
                     response: .json(S.ref("UserChats"))),
            Endpoint(.get, "/api/chats/history", "One page of chat history, newest first",
                     parameters: [.query("otherUserId", S.id, required: true), .query("olderThan", S.dateTime, required: true)], response: .json(S.ref("History"))),
            Endpoint(.get, "/api/screens/allChats", "The all-chats screen", parameters: [
                .query("chatsNewerThan", S.dateTime, required: true), .query("filesNewerThan", S.dateTime, required: true), .query("includeProfiles", S.boolean),
            ], response: .json(S.ref("AllChatsScreen"))),
            Endpoint(.get, "/api/screens/oneChat", "The one-chat screen", parameters: [
                .query("otherUserId", S.id, required: true), .query("messagesOlderThan", S.dateTime, required: true),
                .query("includeProfile", S.boolean), .query("includeConnection", S.boolean),
            ], response: .json(S.ref("OneChatScreen"))),
            Endpoint(.get, "/api/files/list", "Files the caller owns", parameters: [.query("newerThan", S.dateTime, required: true)], response: .json(S.ref("Files"))),
            Endpoint(.post, "/api/files", "Upload a file (multipart field 'file'; .png .jpg .jpeg .txt .pdf; at most 524288 bytes)", parameters: [
                .header("Uploaded-File-Size", S.integer(min: 1, max: Int64(ChatValidation.maxFileSize))),
                .header("Uploaded-File-Allowed-UserId", S.integer(format: "int64", min: 0)),
            ], multipart: S.object(["file": ["type": "string", "format": "binary"]]), response: .json(S.object(["file": S.ref("FileRef")]))),
            Endpoint(.get, "/api/files/{bucket}/{ownerId}/{fileName}", "Download a file (owner or allowed users)", parameters: file,
                     response: .content("*/*", ["type": "string", "format": "binary"], description: "The file")),
            Endpoint(.put, "/api/files/{bucket}/{ownerId}/{fileName}/access", "Share a file with a user (owner only)",
                     parameters: file, body: S.ref("FileAccess"), response: .json(S.ref("NewVersion"))),
            Endpoint(.get, "/api/config", "Dynamic config elements (admin)", auth: .admin, response: .json(S.ref("Config"))),
            Endpoint(.put, "/api/config", "Change dynamic config (admin); services are notified", auth: .admin, body: S.ref("ConfigUpdate"), response: .json(S.ref("Config"))),
            Endpoint(.get, "/api/realtime", "Real-time WebSocket (upgrade required; ?access_token= for browsers, ?format=binary for protobuf frames)",
                     response: .switchingProtocols),
            Endpoint(.get, "/healthz", "Health", auth: .none, response: .json(S.plainObject)),
            Endpoint(.get, "/readyz", "Readiness", auth: .none, response: .json(S.plainObject)),
            Endpoint(.get, "/metrics", "Prometheus metrics", auth: .none, response: .content("text/plain", S.anyString, description: "Prometheus text format")),
            Endpoint(.get, "/openapi.json", "This document", auth: .none, response: .json(S.plainObject)),
            Endpoint(.get, "/", "The web client", auth: .none, response: .content("text/html", S.anyString, description: "HTML page")),
        ]
    }

    // MARK: the schema table

    static let schemas: [(String, JSONValue)] = {
        let ts = S.ref("Timestamp")
        let str = S.anyString
        let i64 = S.int64
        func list(_ item: String) -> JSONValue { S.array(S.ref(item)) }
        // Request limits, as ChatValidation enforces them (lengths in characters).
        let userName = S.string(min: 4, max: 32, pattern: #"^[^\s\x00-\x1f\x7fA-Z]+$"#, description: "4-32 characters, no whitespace, no upper case")
        let password = S.string(min: 8, max: 128)
        let displayName = S.string(min: 4, max: 32, pattern: #"^[^\x00-\x1f\x7f]+$"#, description: "4-32 characters, no control characters")
        let phone = S.string(pattern: "^[0-9]{8,16}$", description: "8-16 digits")
        let email = S.string(min: 3, max: 254, pattern: #"^[^@\s\x00-\x1f\x7f"'<>()\[\],;:\\]+@[^@\s\x00-\x1f\x7f"'<>()\[\],;:\\.]+(\.[^@\s\x00-\x1f\x7f"'<>()\[\],;:\\.]+)+$"#)
        return [
            ("Timestamp", ["type": "string", "format": "date-time", "description": "UTC instant, ISO 8601 with microseconds, e.g. 2024-01-31T12:00:00.123456Z"]),
            ("Problem", S.object(["type": S.nullableString, "title": str, "status": ["type": "integer"], "detail": S.nullableString,
                                  "errors": ["type": "object", "nullable": true, "additionalProperties": S.array(str)]], required: ["title", "status"])),
            ("Registration", S.object(["userName": str, "password": S.nullableString, "displayName": str, "phone": str, "email": str],
                                      required: ["userName", "displayName", "phone", "email"])),
            ("RegistrationRequest", S.object(["userName": userName, "password": password, "displayName": displayName, "phone": phone, "email": email])),
            ("SessionRequest", S.object(["userName": S.string(min: 1, max: 32), "password": S.string(min: 1, max: 128)])),
            ("ProfileFull", S.object(["userId": i64, "version": ts, "userName": str, "displayName": str, "avatarUrl": str, "phone": str, "email": str])),
            ("ProfilePublic", S.object(["userId": i64, "userName": str, "displayName": str, "avatarUrl": str])),
            ("Session", S.object(["clientId": str, "accessToken": str, "profile": S.ref("ProfileFull"), "messagingServerAddress": str, "messagingGrpcAddress": str],
                                 required: ["clientId", "accessToken", "profile", "messagingServerAddress"])),
            ("ChangePassword", S.object(["newPassword": password, "version": ts])),
            ("UpdateProfile", S.object(["displayName": displayName, "version": ts])),
            ("NewVersion", S.object(["newVersion": ts])),
            ("VersionRequest", S.object(["version": ts])),
            ("Profiles", S.object(["profiles": list("ProfilePublic")])),
            ("Connection", S.object(["connectionId": i64, "version": ts,
                                     "status": ["type": "integer", "enum": [0, 1, 2], "description": "0 NotConnected, 1 Pending, 2 Connected"], "targetUserId": i64],
                                    required: ["connectionId", "version", "status"])),
            ("Connections", S.object(["connections": list("Connection")])),
            ("ChatSummary", S.object(["chatId": str, "newestMessage": i64, "otherUserDelivered": i64, "otherUserSeen": i64])),
            ("UserChats", S.object(["chats": list("ChatSummary")])),
            ("FileData", S.object(["bucket": str, "path": str])),
            ("HistoryMessage", S.object(["messageId": i64, "senderId": i64, "receiverId": i64,
                                         "type": ["type": "integer", "enum": [0, 1], "description": "0 plain text, 1 file"], "text": str, "file": S.ref("FileData"),
                                         "reactions": ["type": "object", "additionalProperties": str, "description": "reactor user ID -> reaction"]],
                                        required: ["messageId", "senderId", "receiverId", "type", "text", "reactions"])),
            ("History", S.object(["messages": list("HistoryMessage")])),
            ("FileRef", S.object(["bucket": str, "path": str, "version": ts])),
            ("Files", S.object(["files": list("FileRef")])),
            ("FileAccess", S.object(["allowedUserId": S.id, "version": ts])),
            ("AllChatsScreen", S.object(["chats": list("ChatSummary"), "connections": list("Connection"), "files": list("FileRef"), "profiles": list("ProfilePublic")])),
            ("OneChatScreen", S.object(["messages": list("HistoryMessage"), "profile": S.ref("ProfilePublic"), "connection": S.ref("Connection")], required: ["messages"])),
            ("ConfigElement", S.object(["name": str, "value": str, "version": ts])),
            ("Config", S.object(["elements": list("ConfigElement")])),
            ("ConfigUpdate", S.object(["existingElements": list("ConfigElement"), "newElements": list("ConfigElement"), "deletedElements": list("ConfigElement")])),
        ]
    }()
}

// MARK: the builder

extension OpenAPIDocument {
    /// One operation of the API: everything the document says about it.
    struct Endpoint {
        enum Method: String { case get, post, put, delete }
        /// Who may call it.
        enum Auth { case none, user, admin }
        /// The success response.
        enum Success {
            case json(JSONValue, status: String = "200", description: String = "OK")
            case content(String, JSONValue, description: String)
            case switchingProtocols
        }

        var method: String
        var path: String
        var summary: String
        var auth: Auth
        var parameters: [Parameter]
        var body: JSONValue?
        var bodyRequired: Bool
        var multipart: JSONValue?
        var response: Success

        init(_ method: Method, _ path: String, _ summary: String, auth: Auth = .user, parameters: [Parameter] = [],
             body: JSONValue? = nil, bodyRequired: Bool = true, multipart: JSONValue? = nil, response: Success) {
            self.method = method.rawValue
            self.path = path
            self.summary = summary
            self.auth = auth
            self.parameters = parameters
            self.body = body
            self.bodyRequired = bodyRequired
            self.multipart = multipart
            self.response = response
        }

        var operation: JSONValue {
            var responses: [(String, JSONValue)]
            switch response {
            case .json(let schema, let status, let description):
                responses = [(status, ["description": .string(description), "content": ["application/json": ["schema": schema]]])]
            case .content(let type, let schema, let description):
                responses = [("200", ["description": .string(description), "content": .object([(type, JSONValue.object([("schema", schema)]))])])]
            case .switchingProtocols:
                responses = [("101", ["description": "Switching protocols"])]
            }
            responses.append(("default", ["$ref": "#/components/responses/Problem"]))
            var fields: [(String, JSONValue)] = [("summary", .string(summary)), ("responses", .object(responses))]
            switch auth {
            case .none: fields.append(("security", []))
            case .user: fields.append(("security", [["bearerAuth": []]]))
            case .admin: fields.append(("security", [["adminToken": []]]))
            }
            if !parameters.isEmpty { fields.append(("parameters", .array(parameters.map(\.json)))) }
            if let body {
                fields.append(("requestBody", ["required": .bool(bodyRequired), "content": ["application/json": ["schema": body]]]))
            } else if let multipart {
                fields.append(("requestBody", ["required": true, "content": ["multipart/form-data": ["schema": multipart]]]))
            }
            return .object(fields)
        }
    }

    /// A path, query or header parameter.
    struct Parameter {
        var name: String
        var location: String
        var required: Bool
        var schema: JSONValue
        var description: String?
        var commaSeparated = false

        static func path(_ name: String, _ schema: JSONValue, description: String? = nil) -> Parameter {
            Parameter(name: name, location: "path", required: true, schema: schema, description: description)
        }

        static func query(_ name: String, _ schema: JSONValue, required: Bool = false, description: String? = nil, commaSeparated: Bool = false) -> Parameter {
            Parameter(name: name, location: "query", required: required, schema: schema, description: description, commaSeparated: commaSeparated)
        }

        static func header(_ name: String, _ schema: JSONValue) -> Parameter {
            Parameter(name: name, location: "header", required: true, schema: schema)
        }

        var json: JSONValue {
            var fields: [(String, JSONValue)] = [("name", .string(name)), ("in", .string(location)), ("required", .bool(required))]
            if commaSeparated {
                fields += [("style", "form"), ("explode", false)]
            }
            fields.append(("schema", schema))
            if let description { fields.append(("description", .string(description))) }
            return .object(fields)
        }
    }

    /// Schema constructors.
    enum S {
        static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/" + name)] }
        static let anyString: JSONValue = ["type": "string"]
        static let nullableString: JSONValue = ["type": "string", "nullable": true]
        static let int64: JSONValue = ["type": "integer", "format": "int64"]
        static let boolean: JSONValue = ["type": "boolean"]
        static let dateTime: JSONValue = ["type": "string", "format": "date-time"]
        static let plainObject: JSONValue = ["type": "object"]
        /// A user or message ID: positive int64.
        static let id = integer(format: "int64", min: 1)
        static let bucket = string(min: 4, max: 64, pattern: #"^[a-z0-9\-]+$"#)
        static let fileName = string(pattern: #"^[a-z0-9\-]{20,40}\.[a-z]{3,8}$"#)

        static func string(min: Int? = nil, max: Int? = nil, pattern: String? = nil, description: String? = nil) -> JSONValue {
            var fields: [(String, JSONValue)] = [("type", "string")]
            if let min { fields.append(("minLength", .int(Int64(min)))) }
            if let max { fields.append(("maxLength", .int(Int64(max)))) }
            if let pattern { fields.append(("pattern", .string(pattern))) }
            if let description { fields.append(("description", .string(description))) }
            return .object(fields)
        }

        static func integer(format: String? = nil, min: Int64? = nil, max: Int64? = nil) -> JSONValue {
            var fields: [(String, JSONValue)] = [("type", "integer")]
            if let format { fields.append(("format", .string(format))) }
            if let min { fields.append(("minimum", .int(min))) }
            if let max { fields.append(("maximum", .int(max))) }
            return .object(fields)
        }

        static func array(_ items: JSONValue, minItems: Int? = nil, maxItems: Int? = nil) -> JSONValue {
            var fields: [(String, JSONValue)] = [("type", "array"), ("items", items)]
            if let minItems { fields.append(("minItems", .int(Int64(minItems)))) }
            if let maxItems { fields.append(("maxItems", .int(Int64(maxItems)))) }
            return .object(fields)
        }

        /// An object; every property is required unless `required` says otherwise.
        static func object(_ properties: KeyValuePairs<String, JSONValue>, required: [String]? = nil) -> JSONValue {
            [
                "type": "object",
                "required": .array((required ?? properties.map { $0.key }).map(JSONValue.string)),
                "properties": .object(properties.map { ($0.key, $0.value) }),
            ]
        }
    }
}

/// A JSON value with ordered object keys, written as compact JSON.
indirect enum JSONValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case array([JSONValue])
    case object([(String, JSONValue)])

    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }

    /// The value as JSON text.
    func rendered() -> String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .string(let s): Self.writeString(s, into: &out)
        case .int(let i): out += String(i)
        case .bool(let b): out += b ? "true" : "false"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += "," }
                Self.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
