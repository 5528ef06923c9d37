import ChatWire
import Foundation
import NIOHTTP1
import Testing

/// The served OpenAPI document: every endpoint, and the request limits the handlers enforce.
@Suite(.timeLimit(.minutes(2))) struct OpenAPIDocumentTests {
    @Test func documentListsEndpointsAndRequestLimits() async throws {
        try await TestServer.run { port in
            let anon = ChatClient(host: "127.0.0.1", port: port)
            let response = try await anon.send(.GET, "/openapi.json", headers: HTTPHeaders(), body: nil, authorized: false)
            await anon.close()
            #expect(response.status == 200)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let expected: [(String, String)] = [
                ("/api/registration", "post"), ("/api/session", "post"), ("/api/profile/password", "put"), ("/api/profile", "put"),
                ("/api/profiles/{id}", "get"), ("/api/profiles", "get"), ("/api/connections", "get"), ("/api/connections/{id}/invite", "post"),
                ("/api/connections/{id}/invite", "put"), ("/api/connections/{id}/invite", "delete"), ("/api/connections/{id}", "delete"),
                ("/api/chats/user", "get"), ("/api/chats/history", "get"), ("/api/screens/allChats", "get"), ("/api/screens/oneChat", "get"),
                ("/api/files/list", "get"), ("/api/files", "post"), ("/api/files/{bucket}/{ownerId}/{fileName}", "get"), ("/api/files/{bucket}/{ownerId}/{fileName}/access", "put"),
                ("/api/config", "get"), ("/api/config", "put"), ("/healthz", "get"), ("/readyz", "get"), ("/metrics", "get"),
            ]
            for (path, method) in expected {
                #expect(paths[path]?[method] != nil, "missing \(method.uppercased()) \(path)")
            }
            let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
            func property(_ schema: String, _ name: String) -> [String: Any]? {
                (schemas[schema]?["properties"] as? [String: Any])?[name] as? [String: Any]
            }
            #expect(property("RegistrationRequest", "userName")?["maxLength"] as? Int == 32)
            #expect(property("RegistrationRequest", "userName")?["minLength"] as? Int == 4)
            #expect(property("RegistrationRequest", "password")?["maxLength"] as? Int == 128)
            #expect(property("RegistrationRequest", "phone")?["pattern"] as? String == "^[0-9]{8,16}$")
            #expect(property("ChangePassword", "newPassword")?["minLength"] as? Int == 8)
            #expect(property("FileAccess", "allowedUserId")?["minimum"] as? Int == 1)
            // The ID list is limited by the live user.profile-count.
            let profiles = try #require((paths["/api/profiles"]?["get"] as? [String: Any])?["parameters"] as? [[String: Any]])
            let userIDs = try #require(profiles.first { $0["name"] as? String == "userIds" })
            #expect((userIDs["schema"] as? [String: Any])?["maxItems"] as? Int == 32)
            #expect(userIDs["explode"] as? Bool == false)
            // Every $ref points at a defined schema.
            let text = String(buffer: response.body)
            var refs = Set<String>()
            var rest = Substring(text)
            while let range = rest.range(of: "\"#/components/schemas/") {
                let name = rest[range.upperBound...].prefix { $0 != "\"" }
                refs.insert(String(name))
                rest = rest[range.upperBound...]
            }
            #expect(!refs.isEmpty)
            for name in refs { #expect(schemas[name] != nil, "undefined schema \(name)") }
        }
    }
}
