import Foundation
import GRPCWire
import Logging
import NIOCore
import ServiceLifecycle
import Testing

let testLogger: Logger = {
    var logger = Logger(label: "grpcwire.tests")
    logger.logLevel = ProcessInfo.processInfo.environment["GRPCWIRE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    return logger
}()

/// Runs a Swift gRPC server on a free loopback port for the duration of `body`.
func withServer<T: Sendable>(
    configure: (inout GRPCServer.Configuration) -> Void = { _ in },
    services: [any GRPCService] = [EchoService()],
    interceptors: [any ServerInterceptor] = [],
    _ body: (GRPCServer, Int) async throws -> T
) async throws -> T {
    var configuration = GRPCServer.Configuration(port: 0)
    configure(&configuration)
    let server = GRPCServer(
        configuration: configuration, services: services, interceptors: interceptors, logger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let port = try await server.listeningPort()
        do {
            let result = try await body(server, port)
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

/// Makes a client for a loopback port and closes it after `body`.
func withClient<T: Sendable>(
    port: Int,
    configure: (inout GRPCClient.Configuration) -> Void = { _ in },
    interceptors: [any ClientInterceptor] = [],
    _ body: (GRPCClient) async throws -> T
) async throws -> T {
    var configuration = GRPCClient.Configuration(host: "127.0.0.1", port: port)
    // Functional tests, not timing ones: on a loaded 2-core machine (the whole suite in parallel,
    // debug build) a loopback TLS handshake took over the 10 s default.
    configuration.connectTimeout = .seconds(60)
    configure(&configuration)
    let client = GRPCClient(configuration: configuration, interceptors: interceptors, logger: testLogger)
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

/// Expects `body` to throw an RPCError and returns it.
func expectRPCError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> RPCError? {
    do {
        try await body()
        Issue.record("expected an RPCError, the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        Issue.record("expected an RPCError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
