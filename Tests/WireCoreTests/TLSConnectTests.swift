import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing
@testable import WireCore

/// TLS against a NIOSSL echo server on loopback, with certificates made by `openssl` at test time.
@Suite struct TLSConnectTests {
    let certificates: TestCertificates

    init() async throws {
        certificates = try await TestCertificates.load()
    }

    func serverTLS(
        requireClientCertificate: Bool = false,
        applicationProtocols: [String] = [],
        maximumVersion: TLSVersion? = nil
    ) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificates.serverCertificateFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: certificates.serverKeyFile, format: .pem))
        var configuration: TLSConfiguration
        if requireClientCertificate {
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: chain, privateKey: key,
                trustRoots: .certificates(try NIOSSLCertificate.fromPEMFile(certificates.caFile)))
        } else {
            configuration = .makeServerConfiguration(certificateChain: chain, privateKey: key)
        }
        configuration.applicationProtocols = applicationProtocols
        configuration.maximumTLSVersion = maximumVersion
        return configuration
    }

    func configuration(_ server: EchoServer, _ tls: TLSSettings) -> ConnectionConfiguration {
        ConnectionConfiguration(endpoint: server.endpoint, connectTimeout: .seconds(5), tls: tls)
    }

    @Test func verifiedWithCAFile() async throws {
        let server = try await EchoServer.start(tls: serverTLS())
        defer { Task { await server.stop() } }
        let tls = TLSSettings(trustRoots: .file(certificates.caFile), serverName: "localhost")
        let reply = try await echoRoundTrip(configuration(server, tls), text: "secret")
        #expect(reply == "secret")
        #expect(server.receivedServerNames == ["localhost"])
    }

    @Test func verifiedWithPEMText() async throws {
        let server = try await EchoServer.start(tls: serverTLS())
        defer { Task { await server.stop() } }
        let pem = try String(contentsOfFile: certificates.caFile, encoding: .utf8)
        let tls = TLSSettings(trustRoots: .pem(pem), serverName: "localhost")
        #expect(try await echoRoundTrip(configuration(server, tls), text: "pem roots") == "pem roots")
    }

    @Test func hostnameFromEndpointIsSentAsSNI() async throws {
        let server = try await EchoServer.start(tls: serverTLS())
        defer { Task { await server.stop() } }
        // "localhost" may resolve to ::1 first (nothing listens there) and then 127.0.0.1.
        let config = ConnectionConfiguration(
            endpoint: .tcp(host: "localhost", port: server.port), tls: TLSSettings(trustRoots: .file(certificates.caFile)))
        #expect(try await echoRoundTrip(config, text: "by name") == "by name")
        #expect(server.receivedServerNames == ["localhost"])
    }

    @Test func ipAddressWithoutServerNameSendsNoSNIAndFailsFullVerification() async throws {
        let server = try await EchoServer.start(tls: serverTLS())
        defer { Task { await server.stop() } }
        // The certificate names only "localhost"; connecting to 127.0.0.1 without a server name
        // has nothing to match it against.
        let full = TLSSettings(trustRoots: .file(certificates.caFile))
        await #expect {
            _ = try await echoRoundTrip(configuration(server, full), text: "x")
        } throws: { error in
            if case ConnectError.tls = error { return true }
            return false
        }
        let chainOnly = TLSSettings(trustRoots: .file(certificates.caFile), verification: .noHostname)
        #expect(try await echoRoundTrip(configuration(server, chainOnly), text: "by ip") == "by ip")
        #expect(server.receivedServerNames == [nil, nil])
    }

    @Test func tlsOverUnixSocketUsesServerName() async throws {
        let path = "/tmp/wirestack-tls-\(UUID().uuidString.prefix(8)).sock"
        let server = try await EchoServer.start(unixSocketPath: path, tls: serverTLS())
        defer {
            Task { await server.stop() }
            try? FileManager.default.removeItem(atPath: path)
        }
        let tls = TLSSettings(trustRoots: .file(certificates.caFile), serverName: "localhost")
        #expect(try await echoRoundTrip(configuration(server, tls), text: "unix tls") == "unix tls")
        #expect(server.receivedServerNames == ["localhost"])
    }

    @Test func wrongCAFailsWithTLSError() async throws {
        let server = try await EchoServer.start(tls: serverTLS())
        defer { Task { await server.stop() } }
        let tls = TLSSettings(trustRoots: .file(certificates.otherCAFile), serverName: "localhost")
        await #expect {
            _ = try await echoRoundTrip(configuration(server, tls), text: "x")
        } throws: { error in
            guard case ConnectError.tls = error else { return false }
            let text = String(describing: error)
            return text.contains("TLS handshake failed") && text.contains("CERTIFICATE_VERIFY_FAILED")
        }
    }

    @Test func hostnameVerificationOnAndOff() async throws {
        let server = try await EchoServer.start(tls: serverTLS())
        defer { Task { await server.stop() } }
        let full = TLSSettings(trustRoots: .file(certificates.caFile), verification: .full, serverName: "wrong.example")
        await #expect {
            _ = try await echoRoundTrip(configuration(server, full), text: "x")
        } throws: { error in
            guard case ConnectError.tls(let underlying) = error else { return false }
            return String(describing: underlying).contains("wrong.example")
        }
        let chainOnly = TLSSettings(trustRoots: .file(certificates.caFile), verification: .noHostname, serverName: "wrong.example")
        #expect(try await echoRoundTrip(configuration(server, chainOnly), text: "chain only") == "chain only")
        #expect(server.receivedServerNames == ["wrong.example", "wrong.example"])
    }

    @Test func verificationNoneAcceptsUntrustedServer() async throws {
        let server = try await EchoServer.start(tls: serverTLS())
        defer { Task { await server.stop() } }
        let tls = TLSSettings(trustRoots: .file(certificates.otherCAFile), verification: .none)
        #expect(try await echoRoundTrip(configuration(server, tls), text: "unverified") == "unverified")
    }

    @Test func clientCertificateRequiredByServer() async throws {
        let server = try await EchoServer.start(tls: serverTLS(requireClientCertificate: true))
        defer { Task { await server.stop() } }
        let withCertificate = TLSSettings(
            trustRoots: .file(certificates.caFile),
            certificateChainFile: certificates.clientCertificateFile,
            privateKeyFile: certificates.clientKeyFile,
            serverName: "localhost")
        #expect(try await echoRoundTrip(configuration(server, withCertificate), text: "mutual") == "mutual")

        // TLS 1.3: the client finishes its handshake before the server checks the certificate, so the
        // rejection arrives as an alert on the first read.
        let without = TLSSettings(trustRoots: .file(certificates.caFile), serverName: "localhost")
        await #expect(throws: (any Error).self) {
            _ = try await echoRoundTrip(configuration(server, without), text: "anonymous")
        }
    }

    @Test func clientCertificateRequiredByTLS12ServerFailsTheHandshake() async throws {
        let server = try await EchoServer.start(tls: serverTLS(requireClientCertificate: true, maximumVersion: .tlsv12))
        defer { Task { await server.stop() } }
        let without = TLSSettings(trustRoots: .file(certificates.caFile), serverName: "localhost")
        await #expect {
            _ = try await echoRoundTrip(configuration(server, without), text: "anonymous")
        } throws: { error in
            if case ConnectError.tls = error { return true }
            return false
        }
    }

    @Test func minimumVersionIsEnforced() async throws {
        let server = try await EchoServer.start(tls: serverTLS(maximumVersion: .tlsv12))
        defer { Task { await server.stop() } }
        let tls = TLSSettings(trustRoots: .file(certificates.caFile), serverName: "localhost", minimumTLSVersion: .tlsv13)
        await #expect {
            _ = try await echoRoundTrip(configuration(server, tls), text: "x")
        } throws: { error in
            if case ConnectError.tls = error { return true }
            return false
        }
    }

    @Test func alpnNegotiatesH2() async throws {
        let server = try await EchoServer.start(tls: serverTLS(applicationProtocols: ["h2", "http/1.1"]))
        defer { Task { await server.stop() } }
        let tls = TLSSettings(trustRoots: .file(certificates.caFile), serverName: "localhost", applicationProtocols: ["h2"])
        let channel = try await WireConnector.connect(configuration(server, tls)) { $0.eventLoop.makeSucceededVoidFuture() }
        defer { channel.close(promise: nil) }
        #expect(try await WireConnector.negotiatedApplicationProtocol(on: channel) == "h2")
    }

    @Test func startTLSUpgradesAPlaintextChannel() async throws {
        let server = try await EchoServer.start(tls: serverTLS())
        defer { Task { await server.stop() } }
        let promise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: ByteBuffer.self)
        // Plaintext connect (as PostgreSQL does before its SSLRequest), then upgrade in place.
        let channel = try await WireConnector.connect(ConnectionConfiguration(endpoint: server.endpoint)) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(CollectHandler(expected: 8, promise: promise))
            }
        }
        defer { channel.close(promise: nil) }
        let tls = TLSSettings(trustRoots: .file(certificates.caFile), serverName: "localhost")
        _ = try await tls.startTLS(on: channel, endpoint: server.endpoint)
        try await channel.writeAndFlush(ByteBuffer(string: "upgraded"))
        #expect(String(buffer: try await promise.futureResult.get()) == "upgraded")
        #expect(server.receivedServerNames == ["localhost"])
    }

    @Test func invalidTLSSettingsAreReported() throws {
        #expect {
            _ = try TLSSettings(trustRoots: .file("/nonexistent/ca.pem")).makeContext()
        } throws: { error in
            if case ConnectError.invalidTLSConfiguration = error { return true }
            return false
        }
        #expect {
            _ = try TLSSettings(trustRoots: .file(certificates.caFile), certificateChainFile: certificates.clientCertificateFile).makeContext()
        } throws: { error in
            if case ConnectError.invalidTLSConfiguration = error { return true }
            return false
        }
    }

    @Test func tlsToAPlaintextServerFails() async throws {
        let server = try await EchoServer.start()
        defer { Task { await server.stop() } }
        // The echo server reflects our ClientHello, which is not a ServerHello.
        let tls = TLSSettings(trustRoots: .file(certificates.caFile), serverName: "localhost")
        await #expect {
            _ = try await echoRoundTrip(configuration(server, tls), text: "x")
        } throws: { error in
            if case ConnectError.tls = error { return true }
            return false
        }
    }
}
