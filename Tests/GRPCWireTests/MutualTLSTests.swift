import Foundation
import GRPCWire
import NIOSSL
import WireCore
import Testing

/// Returns the DER bytes of the client certificate the server verified (empty without one).
struct IdentityService: GRPCService {
    static let identify = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
        service: "test.Identity", method: "Identify", kind: .unary)

    func register(with router: inout ServiceRouter) {
        router.unary(Self.identify) { _, context in
            let der = try context.peerCertificate?.toDERBytes() ?? []
            return Peers_Echo_Msg(text: context.peerCertificate == nil ? "anonymous" : "verified", blob: der)
        }
    }
}

/// Mutual TLS: the server requires a client certificate signed by the test CA and verifies it;
/// Swift and grpcio on either side. Needs `WIRESTACK_CERTS` (ca.crt, server.*, client.*).
@Suite("Mutual TLS", .serialized, .timeLimit(.minutes(3)))
struct MutualTLSTests {
    static func certificates() -> String? {
        PeerEnvironment.require(PeerEnvironment.certificates, "WIRESTACK_CERTS")
    }

    static func clientTLS(_ certs: String, withCertificate: Bool) -> TransportSecurity {
        .tls(TLSSettings(
            trustRoots: .file("\(certs)/ca.crt"),
            certificateChainFile: withCertificate ? "\(certs)/client.crt" : nil,
            privateKeyFile: withCertificate ? "\(certs)/client.key" : nil,
            serverName: "localhost"))
    }

    func withMutualTLSServer(_ certs: String, _ body: (Int) async throws -> Void) async throws {
        try await withServer(configure: {
            $0.tls = .init(
                certificateChainFile: "\(certs)/server.crt", privateKeyFile: "\(certs)/server.key",
                clientCertificateTrustRootsFile: "\(certs)/ca.crt")
        }, services: [EchoService(), IdentityService()]) { _, port in
            try await body(port)
        }
    }

    @Test func swiftClientWithCertificateIsVerifiedAndIdentified() async throws {
        guard let certs = Self.certificates() else { return }
        let expected = try NIOSSLCertificate.fromPEMFile("\(certs)/client.crt")[0].toDERBytes()
        try await withMutualTLSServer(certs) { port in
            try await withClient(port: port, configure: { $0.transportSecurity = Self.clientTLS(certs, withCertificate: true) }) { client in
                let identity = try await client.unary(IdentityService.identify, Peers_Echo_Msg())
                #expect(identity.text == "verified")
                #expect(Array(identity.blob) == expected)
                let echoed = try await client.serverStreaming(Echo.serverStream, Peers_Echo_Msg(text: "m", n: 3)) { responses in
                    var texts: [String] = []
                    for try await message in responses { texts.append(message.text) }
                    return texts
                }
                #expect(echoed == ["m-0", "m-1", "m-2"])
            }
        }
    }

    @Test func swiftClientWithoutCertificateIsRefused() async throws {
        guard let certs = Self.certificates() else { return }
        try await withMutualTLSServer(certs) { port in
            try await withClient(port: port, configure: { $0.transportSecurity = Self.clientTLS(certs, withCertificate: false) }) { client in
                let error = await expectRPCError {
                    _ = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "x"), options: CallOptions(timeout: .seconds(20)))
                }
                #expect(error?.code == .unavailable)
            }
        }
    }

    /// grpcio client -> GRPCWire server requiring client certificates.
    @Test func grpcioClientAgainstSwiftServer() async throws {
        guard let certs = Self.certificates(),
            let python = PeerEnvironment.require(PeerEnvironment.python, "WIRESTACK_PY")
        else { return }
        let cases = ["unary_metadata_trailers", "server_streaming", "bidi_streaming"]
        try await withMutualTLSServer(certs) { port in
            let withCertificate = try OracleProcess(
                python: python, script: "client.py",
                arguments: ["127.0.0.1:\(port)", "--tls", "\(certs)/ca.crt",
                            "--client-cert", "\(certs)/client.crt", "--client-key", "\(certs)/client.key"],
                environment: ["GRPCWIRE_ORACLE_CASES": cases.joined(separator: ",")])
            let (status, output) = try await withCertificate.waitForExit()
            for name in cases {
                #expect(output.contains("OK \(name)\n"), "grpcio mTLS case \(name): \(output)")
            }
            #expect(status == 0, "\(output)")

            let anonymous = try OracleProcess(
                python: python, script: "client.py", arguments: ["127.0.0.1:\(port)", "--tls", "\(certs)/ca.crt"],
                environment: ["GRPCWIRE_ORACLE_CASES": "unary_metadata_trailers"])
            let (refusedStatus, refusedOutput) = try await anonymous.waitForExit()
            #expect(refusedOutput.contains("FAIL unary_metadata_trailers"), "\(refusedOutput)")
            #expect(refusedStatus != 0)
        }
    }

    /// GRPCWire client -> grpcio server requiring client certificates.
    @Test func swiftClientAgainstGrpcioServer() async throws {
        guard let certs = Self.certificates(),
            let python = PeerEnvironment.require(PeerEnvironment.python, "WIRESTACK_PY")
        else { return }
        let server = try OracleProcess(
            python: python, script: "server.py",
            arguments: ["--tls-cert", "\(certs)/server.crt", "--tls-key", "\(certs)/server.key", "--client-ca", "\(certs)/ca.crt"])
        do {
            let port = try await server.waitForPort()
            try await withClient(port: port, configure: { $0.transportSecurity = Self.clientTLS(certs, withCertificate: true) }) { client in
                let response = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "mtls"), options: CallOptions(timeout: .seconds(20)))
                #expect(response.text == "mtls")
            }
            try await withClient(port: port, configure: { $0.transportSecurity = Self.clientTLS(certs, withCertificate: false) }) { client in
                let error = await expectRPCError {
                    _ = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "x"), options: CallOptions(timeout: .seconds(20)))
                }
                #expect(error?.code == .unavailable)
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
