import Foundation

/// A throw-away PKI made with the `openssl` command line at test time: a CA, a server
/// certificate for `localhost` (DNS name only, no IP address), a client certificate, and an unrelated CA.
struct TestCertificates: Sendable {
    let directory: String
    var caFile: String { directory + "/ca.pem" }
    var serverCertificateFile: String { directory + "/server.pem" }
    var serverKeyFile: String { directory + "/server.key" }
    var clientCertificateFile: String { directory + "/client.pem" }
    var clientKeyFile: String { directory + "/client.key" }
    var otherCAFile: String { directory + "/other-ca.pem" }

    /// Generated once per test process, on a Dispatch thread: running `openssl` blocks, and blocking
    /// the (two-thread) cooperative pool would starve every other test in the process.
    private static let generation = Task {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<TestCertificates, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try TestCertificates.generate() })
            }
        }
    }

    static func load() async throws -> TestCertificates { try await generation.value }

    private static func generate() throws -> TestCertificates {
        let directory = NSTemporaryDirectory() + "wirestack-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        func ca(_ name: String, subject: String) throws {
            try openssl(
                ["req", "-x509"] + ec + [
                    "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", subject,
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ], in: directory)
        }
        func leaf(_ name: String, subject: String, extensions: String) throws {
            try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
            try openssl(["req"] + ec + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject], in: directory)
            try openssl(
                [
                    "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext",
                ], in: directory)
        }
        try ca("ca", subject: "/CN=Wirestack Test CA")
        try ca("other-ca", subject: "/CN=Unrelated Test CA")
        try leaf(
            "server", subject: "/CN=localhost",
            extensions: "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
        try leaf(
            "client", subject: "/CN=wirestack-client",
            extensions: "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
        return TestCertificates(directory: directory)
    }

    private static func openssl(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OpenSSLFailed(arguments: arguments, output: String(decoding: output, as: UTF8.self))
        }
    }
}

struct OpenSSLFailed: Error, CustomStringConvertible {
    let arguments: [String]
    let output: String
    var description: String { "openssl \(arguments.joined(separator: " ")) failed: \(output)" }
}
