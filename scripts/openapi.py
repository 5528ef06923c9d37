#!/usr/bin/env python3
# Writes Sources/ChatServer/HTTP/OpenAPIDocument.swift (the document served at /openapi.json).
import json
P = {"$ref": "#/components/responses/Problem"}
def ref(n): return {"$ref": "#/components/schemas/" + n}
def ok(schema, code="200", desc="OK"):
    return {code: {"description": desc, "content": {"application/json": {"schema": schema}}}, "default": P}
def body(schema, required=True):
    return {"required": required, "content": {"application/json": {"schema": schema}}}
def q(name, schema, required=False, desc=None):
    d = {"name": name, "in": "query", "required": required, "schema": schema}
    if desc: d["description"] = desc
    return d
ts = ref("Timestamp")
tsq = {"type": "string", "format": "date-time"}
idp = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int64", "minimum": 1}}
boolq = {"type": "boolean"}
user = [{"bearerAuth": []}]
def op(summary, responses, security=user, **kw):
    d = {"summary": summary, "responses": responses}
    if security is not None: d["security"] = security
    d.update(kw)
    return d
paths = {
 "/api/registration": {"post": op("Register a user", ok(ref("Registration"), "201", "Created; the registration echoed without the password"), security=[], requestBody=body(ref("Registration")))},
 "/api/session": {"post": op("Log in: create a session (JWT, client ID)", ok(ref("Session")), security=[], requestBody=body(ref("SessionRequest")))},
 "/api/profile/password": {"put": op("Change the password (optimistic concurrency)", ok(ref("NewVersion")), requestBody=body(ref("ChangePassword")))},
 "/api/profile": {"put": op("Edit the profile (optimistic concurrency)", ok(ref("NewVersion")), requestBody=body(ref("UpdateProfile")))},
 "/api/profiles/{id}": {"get": op("A public profile", ok({"type": "object", "required": ["profile"], "properties": {"profile": ref("ProfilePublic")}}), parameters=[idp])},
 "/api/profiles": {"get": op("Public profiles by ID list or by name search (exactly one)", ok(ref("Profiles")), parameters=[
     q("userIds", {"type": "string"}, desc="Comma-separated user IDs (at most user.profile-count)"),
     q("searchPattern", {"type": "string"}, desc="3-32 letters")])},
 "/api/connections": {"get": op("The caller's connections", ok(ref("Connections")))},
 "/api/connections/{id}/invite": {
     "post": op("Invite a user", ok({"type": "object", "required": ["version"], "properties": {"version": ts}}), parameters=[idp], requestBody=body({"type": "object"}, required=False)),
     "put": op("Approve an invitation", ok(ref("NewVersion")), parameters=[idp], requestBody=body(ref("VersionRequest"))),
     "delete": op("Cancel an invitation", ok(ref("NewVersion")), parameters=[idp], requestBody=body(ref("VersionRequest")))},
 "/api/connections/{id}": {"delete": op("Remove a connection", ok(ref("NewVersion")), parameters=[idp], requestBody=body(ref("VersionRequest")))},
 "/api/chats/user": {"get": op("The caller's chats with a newest message after newerThan", ok(ref("UserChats")), parameters=[q("newerThan", tsq, True)])},
 "/api/chats/history": {"get": op("One page of chat history, newest first", ok(ref("History")), parameters=[
     q("otherUserId", {"type": "integer", "format": "int64", "minimum": 1}, True), q("olderThan", tsq, True)])},
 "/api/screens/allChats": {"get": op("The all-chats screen", ok(ref("AllChatsScreen")), parameters=[
     q("chatsNewerThan", tsq, True), q("filesNewerThan", tsq, True), q("includeProfiles", boolq)])},
 "/api/screens/oneChat": {"get": op("The one-chat screen", ok(ref("OneChatScreen")), parameters=[
     q("otherUserId", {"type": "integer", "format": "int64", "minimum": 1}, True), q("messagesOlderThan", tsq, True),
     q("includeProfile", boolq), q("includeConnection", boolq)])},
 "/api/files/list": {"get": op("Files the caller owns", ok(ref("Files")), parameters=[q("newerThan", tsq, True)])},
 "/api/files": {"post": op("Upload a file (multipart field 'file'; .png .jpg .jpeg .txt .pdf; at most 524288 bytes)", ok({"type": "object", "required": ["file"], "properties": {"file": ref("FileRef")}}),
     parameters=[{"name": "Uploaded-File-Size", "in": "header", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 524288}},
                 {"name": "Uploaded-File-Allowed-UserId", "in": "header", "required": True, "schema": {"type": "integer", "format": "int64", "minimum": 0}}],
     requestBody={"required": True, "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}})},
 "/api/files/{bucket}/{path}": {"get": op("Download a file (owner or allowed users)", {"200": {"description": "The file", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}, "default": P},
     parameters=[{"name": "bucket", "in": "path", "required": True, "schema": {"type": "string"}}, {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}, "description": "URL-encoded object path, e.g. 12%2Fuuid.png"}])},
 "/api/files/{bucket}/{path}/access": {"put": op("Share a file with a user (owner only)", ok(ref("NewVersion")),
     parameters=[{"name": "bucket", "in": "path", "required": True, "schema": {"type": "string"}}, {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
     requestBody=body(ref("FileAccess")))},
 "/api/config": {
     "get": op("Dynamic config elements (admin)", ok(ref("Config")), security=[{"adminToken": []}]),
     "put": op("Change dynamic config (admin); services are notified", ok(ref("Config")), security=[{"adminToken": []}], requestBody=body(ref("ConfigUpdate")))},
 "/api/realtime": {"get": op("Real-time WebSocket (upgrade required; ?access_token= for browsers, ?format=binary for protobuf frames)",
     {"101": {"description": "Switching protocols"}, "default": P}, security=user)},
 "/healthz": {"get": op("Health", ok({"type": "object"}), security=[])},
 "/readyz": {"get": op("Readiness", ok({"type": "object"}), security=[])},
 "/metrics": {"get": op("Prometheus metrics", {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}, "default": P}, security=[])},
 "/openapi.json": {"get": op("This document", ok({"type": "object"}), security=[])},
 "/": {"get": op("The web client", {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}, "default": P}, security=[])},
}
I64 = {"type": "integer", "format": "int64"}
S = {"type": "string"}
def obj(props, required=None):
    return {"type": "object", "required": required if required is not None else list(props), "properties": props}
schemas = {
 "Timestamp": {"type": "string", "format": "date-time", "description": "UTC instant, ISO 8601 with microseconds, e.g. 2024-01-31T12:00:00.123456Z"},
 "Problem": {"type": "object", "required": ["title", "status"], "properties": {"type": {"type": "string", "nullable": True}, "title": S, "status": {"type": "integer"},
     "detail": {"type": "string", "nullable": True}, "errors": {"type": "object", "nullable": True, "additionalProperties": {"type": "array", "items": S}}}},
 "Registration": {"type": "object", "required": ["userName", "displayName", "phone", "email"], "properties": {
     "userName": S, "password": {"type": "string", "nullable": True}, "displayName": S, "phone": S, "email": S}},
 "SessionRequest": obj({"userName": S, "password": S}),
 "ProfileFull": obj({"userId": I64, "version": ts, "userName": S, "displayName": S, "avatarUrl": S, "phone": S, "email": S}),
 "ProfilePublic": obj({"userId": I64, "userName": S, "displayName": S, "avatarUrl": S}),
 "Session": obj({"clientId": S, "accessToken": S, "profile": ref("ProfileFull"), "messagingServerAddress": S}),
 "ChangePassword": obj({"newPassword": S, "version": ts}),
 "UpdateProfile": obj({"displayName": S, "version": ts}),
 "NewVersion": obj({"newVersion": ts}),
 "VersionRequest": obj({"version": ts}),
 "Profiles": obj({"profiles": {"type": "array", "items": ref("ProfilePublic")}}),
 "Connection": {"type": "object", "required": ["connectionId", "version", "status"], "properties": {"connectionId": I64, "version": ts,
     "status": {"type": "integer", "enum": [0, 1, 2], "description": "0 NotConnected, 1 Pending, 2 Connected"}, "targetUserId": I64}},
 "Connections": obj({"connections": {"type": "array", "items": ref("Connection")}}),
 "ChatSummary": obj({"chatId": S, "newestMessage": I64, "otherUserDelivered": I64, "otherUserSeen": I64}),
 "UserChats": obj({"chats": {"type": "array", "items": ref("ChatSummary")}}),
 "FileData": obj({"bucket": S, "path": S}),
 "HistoryMessage": {"type": "object", "required": ["messageId", "senderId", "receiverId", "type", "text", "reactions"], "properties": {
     "messageId": I64, "senderId": I64, "receiverId": I64, "type": {"type": "integer", "enum": [0, 1], "description": "0 plain text, 1 file"}, "text": S,
     "file": ref("FileData"), "reactions": {"type": "object", "additionalProperties": S, "description": "reactor user ID -> reaction"}}},
 "History": obj({"messages": {"type": "array", "items": ref("HistoryMessage")}}),
 "FileRef": obj({"bucket": S, "path": S, "version": ts}),
 "Files": obj({"files": {"type": "array", "items": ref("FileRef")}}),
 "FileAccess": obj({"allowedUserId": I64, "version": ts}),
 "AllChatsScreen": obj({"chats": {"type": "array", "items": ref("ChatSummary")}, "connections": {"type": "array", "items": ref("Connection")},
     "files": {"type": "array", "items": ref("FileRef")}, "profiles": {"type": "array", "items": ref("ProfilePublic")}}),
 "OneChatScreen": {"type": "object", "required": ["messages"], "properties": {"messages": {"type": "array", "items": ref("HistoryMessage")},
     "profile": ref("ProfilePublic"), "connection": ref("Connection")}},
 "ConfigElement": obj({"name": S, "value": S, "version": ts}),
 "Config": obj({"elements": {"type": "array", "items": ref("ConfigElement")}}),
 "ConfigUpdate": obj({"existingElements": {"type": "array", "items": ref("ConfigElement")}, "newElements": {"type": "array", "items": ref("ConfigElement")},
     "deletedElements": {"type": "array", "items": ref("ConfigElement")}}),
}
doc = {
 "openapi": "3.0.3",
 "info": {"title": "Wirestack chat API", "version": "1.0.0",
          "description": "The reference chat server's HTTP/JSON API (the CecoChat BFF, rebuilt). Errors are RFC 7807 problem documents. Real-time messaging is at /api/realtime (WebSocket) and on gRPC (service chatwire.Messaging)."},
 "paths": paths,
 "components": {
   "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                       "adminToken": {"type": "http", "scheme": "bearer", "description": "The server's --admin-token"}},
   "responses": {"Problem": {"description": "An error (4xx/5xx) as an RFC 7807 problem", "content": {"application/problem+json": {"schema": ref("Problem")}}}},
   "schemas": schemas}}
text = json.dumps(doc, indent=1, sort_keys=False)
assert '"""' not in text
open("/work/wt-chat/Sources/ChatServer/HTTP/OpenAPIDocument.swift", "w").write(
 "// Generated by scripts/openapi.py from the route table; keep both in sync.\n\n/// The OpenAPI 3 document served at `/openapi.json`.\nenum OpenAPIDocument {\n    static let json = #\"\"\"\n" + text + "\n\"\"\"#\n}\n")
print(len(text))
