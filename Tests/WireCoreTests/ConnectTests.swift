import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing
@testable import WireCore

@Suite struct ConnectTests {
    @Test func tcpEchoRoundTrip() async throws {
        let server = try await EchoServer.start()
        defer { Task { await server.stop() } }
        let reply = try await echoRoundTrip(ConnectionConfiguration(endpoint: server.endpoint), text: "hello wire")
        #expect(reply == "hello wire")
    }

    @Test(arguments: [true, false])
    func tcpNoDelayIsApplied(enabled: Bool) async throws {
        let server = try await EchoServer.start()
        defer { Task { await server.stop() } }
        let channel = try await WireConnector.connect(
            ConnectionConfiguration(endpoint: server.endpoint, tcpNoDelay: enabled)
        ) { $0.eventLoop.makeSucceededVoidFuture() }
        defer { channel.close(promise: nil) }
        let value = try await channel.getOption(.tcpOption(.tcp_nodelay)).get()
        #expect((value != 0) == enabled)
    }

    @Test func unixSocketEchoRoundTrip() async throws {
        let path = "/tmp/wirestack-\(UUID().uuidString.prefix(8)).sock"
        let server = try await EchoServer.start(unixSocketPath: path)
        defer {
            Task { await server.stop() }
            try? FileManager.default.removeItem(atPath: path)
        }
        let reply = try await echoRoundTrip(ConnectionConfiguration(endpoint: .unixSocket(path: path)), text: "over a unix socket")
        #expect(reply == "over a unix socket")
    }

    @Test func refusedConnection() async throws {
        // Bind a port, then close it: nothing listens there any more.
        let server = try await EchoServer.start()
        let endpoint = server.endpoint
        await server.stop()
        await #expect {
            _ = try await WireConnector.connect(ConnectionConfiguration(endpoint: endpoint)) { $0.eventLoop.makeSucceededVoidFuture() }
        } throws: { error in
            guard case ConnectError.refused(let failed, _) = error else { return false }
            return failed == endpoint
        }
    }

    @Test func missingUnixSocketIsUnreachable() async throws {
        let endpoint = Endpoint.unixSocket(path: "/tmp/wirestack-missing-\(UUID().uuidString.prefix(8)).sock")
        await #expect {
            _ = try await WireConnector.connect(ConnectionConfiguration(endpoint: endpoint)) { $0.eventLoop.makeSucceededVoidFuture() }
        } throws: { error in
            guard case ConnectError.unreachable(let failed, _) = error else { return false }
            return failed == endpoint
        }
    }

    @Test func connectTimeoutAgainstFullBacklog() async throws {
        // A loopback listener that never accepts, with the smallest backlog: once its accept queue
        // is full the kernel drops further SYNs, so the next connect hangs until our timeout.
        let listener = try BacklogListener()
        defer { listener.close() }
        let configuration = ConnectionConfiguration(
            endpoint: .tcp(host: "127.0.0.1", port: listener.port), connectTimeout: .milliseconds(300))
        var fillers: [any Channel] = []
        defer { for channel in fillers { channel.close(promise: nil) } }
        var timedOut = false
        for _ in 0..<8 {
            do {
                fillers.append(try await WireConnector.connect(configuration) { $0.eventLoop.makeSucceededVoidFuture() })
            } catch ConnectError.timedOut(let endpoint) {
                #expect(endpoint == configuration.endpoint)
                timedOut = true
                break
            }
        }
        #expect(timedOut, "a connect to the full backlog should have timed out")
    }

    @Test func initializerFailureIsReported() async throws {
        let server = try await EchoServer.start()
        defer { Task { await server.stop() } }
        await #expect {
            _ = try await WireConnector.connect(ConnectionConfiguration(endpoint: server.endpoint)) { channel in
                channel.eventLoop.makeFailedFuture(InitializerBoom())
            }
        } throws: { error in
            guard case ConnectError.initializerFailed(let underlying) = error else { return false }
            return underlying is InitializerBoom
        }
    }

    @Test func endpointDescriptions() {
        #expect(Endpoint.tcp(host: "db", port: 5432).description == "db:5432")
        #expect(Endpoint.tcp(host: "::1", port: 6379).description == "[::1]:6379")
        #expect(Endpoint.unixSocket(path: "/run/pg.sock").description == "unix:/run/pg.sock")
    }
}

struct InitializerBoom: Error {}

/// A raw loopback listening socket with backlog 0 that never accepts.
final class BacklogListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 0) == 0 else {
            _ = Glibc.close(fd)
            throw IOError(errnoCode: errno, reason: "bind/listen")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        _ = Glibc.close(fd)
    }
}
