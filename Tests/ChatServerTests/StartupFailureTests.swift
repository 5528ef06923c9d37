import ChatServer
import ChatWire
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// A server that cannot start must say so and exit, not hang: when the HTTP port is taken, the
/// service group is cancelled and every service (the embedded backplane included) must end.
@Suite(.timeLimit(.minutes(1))) struct StartupFailureTests {
    @Test func aTakenPortFailsTheServerInsteadOfHanging() async throws {
        // Hold a listening socket on a free loopback port.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        try #require(bound == 0 && listen(fd, 1) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))

        var logger = Logger(label: "chat-startup-test")
        logger.logLevel = .critical
        var configuration = ChatServerConfiguration()
        configuration.port = port
        configuration.grpcPort = 0
        configuration.dataDirectory = TestServer.temporaryDirectory()
        configuration.passwordRounds = 1000
        configuration.tokenSecret = TestServer.secret
        let app = try await ChatServer.makeApplication(configuration: configuration, logger: logger) { _ in }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        await #expect(throws: (any Error).self) { try await group.run() }
    }
}
