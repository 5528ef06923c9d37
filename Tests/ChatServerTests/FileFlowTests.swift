import ChatServer
import ChatWire
import NIOCore
import NIOHTTP1
import Testing

@Suite(.serialized) struct FileFlowTests {
    /// Flows 8–10: upload, list, download with access control, share, and a file message.
    @Test func uploadShareDownloadAndSend() async throws {
        try await TestServer.run { port in
            let a = try await TestUser.make("alice", port: port)
            let b = try await TestUser.make("bobby", port: port)
            let c = try await TestUser.make("carla", port: port)
            let bytes = Array("hello file \u{0} with \"quotes\"".utf8)
            let file = try await a.client.uploadFile(named: "note.txt", bytes: bytes, allowedUserID: b.id)
            #expect(file.bucket.hasPrefix("files-"))
            #expect(file.path.hasPrefix("\(a.id)/") && file.path.hasSuffix(".txt"))
            #expect(try await a.client.files().map(\.path) == [file.path])
            #expect(try await b.client.files().isEmpty)

            let (owner, type) = try await a.client.downloadFile(bucket: file.bucket, path: file.path)
            #expect(owner == bytes && type == "text/plain")
            #expect(try await b.client.downloadFile(bucket: file.bucket, path: file.path).bytes == bytes)
            #expect(await status { try await c.client.downloadFile(bucket: file.bucket, path: file.path) } == 403)
            #expect(await status { try await c.client.downloadFile(bucket: file.bucket, path: "\(a.id)/00000000-0000-0000-0000-000000000000.txt") } == 404)

            // Only the owner shares; the version must be current.
            #expect(await status { try await b.client.shareFile(bucket: file.bucket, path: file.path, with: c.id, version: file.version) } == 403)
            let v2 = try await a.client.shareFile(bucket: file.bucket, path: file.path, with: c.id, version: file.version)
            #expect(await status { try await a.client.shareFile(bucket: file.bucket, path: file.path, with: c.id, version: file.version) } == 409)
            #expect(v2 > file.version)
            #expect(try await c.client.downloadFile(bucket: file.bucket, path: file.path).bytes == bytes)

            // A file message.
            let aRT = try await a.client.connectRealtime()
            let bInbox = Inbox(try await b.client.connectRealtime())
            let id = try await aRT.sendFile(to: b.id, text: "see attached", bucket: file.bucket, path: file.path)
            let n = try await bInbox.take { $0.type == .file }
            #expect(n.messageID == id && n.file.bucket == file.bucket && n.file.path == file.path && n.file.text == "see attached")
            try await eventually { try await b.client.history(with: a.id).first?.file == FileData(bucket: file.bucket, path: file.path) }
            #expect(try await b.client.history(with: a.id).first?.type == .file)
        }
    }

    @Test func rejectsBadUploads() async throws {
        try await TestServer.run { port in
            let a = try await TestUser.make("alice", port: port)
            #expect(await status { try await a.client.uploadFile(named: "run.exe", bytes: [1, 2, 3]) } == 400)
            #expect(await status { try await a.client.uploadFile(named: "big.png", bytes: [UInt8](repeating: 7, count: 524_289)) } == 400)
            // Content type not matching the extension.
            var body = ByteBuffer()
            body.writeString("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\nContent-Type: text/plain\r\n\r\nabc\r\n--b--\r\n")
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "multipart/form-data; boundary=b")
            headers.add(name: "Uploaded-File-Size", value: "3")
            headers.add(name: "Uploaded-File-Allowed-UserId", value: "0")
            #expect(try await a.client.send(.POST, "/api/files", headers: headers, body: body).status == 400)
            // Size header not matching the file.
            headers.replaceOrAdd(name: "Uploaded-File-Size", value: "4")
            var ok = ByteBuffer()
            ok.writeString("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nabc\r\n--b--\r\n")
            #expect(try await a.client.send(.POST, "/api/files", headers: headers, body: ok).status == 400)
            // Truncated multipart.
            headers.replaceOrAdd(name: "Uploaded-File-Size", value: "3")
            var truncated = ByteBuffer()
            truncated.writeString("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.txt\"\r\n")
            #expect(try await a.client.send(.POST, "/api/files", headers: headers, body: truncated).status == 400)
            // Missing headers.
            #expect(try await a.client.send(.POST, "/api/files", headers: HTTPHeaders([("Content-Type", "multipart/form-data; boundary=b")]), body: ok).status == 400)
            // Nothing was stored.
            #expect(try await a.client.files().isEmpty)
        }
    }
}
