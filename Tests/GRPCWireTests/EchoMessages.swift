import Foundation
import GRPCWire
import SwiftProtobuf
import Synchronization

extension Peers_Echo_Msg {
    init(text: String, n: Int32 = 0, blob: [UInt8] = []) {
        self.init()
        self.text = text
        self.n = n
        self.blob = Data(blob)
    }
}

/// An 8 MiB payload with a 251-byte period (prime, so shifted or misplaced chunks show), built by
/// doubling: a per-byte loop over 8M elements costs seconds in a debug build and holds a
/// cooperative thread meanwhile, stalling every other test in the process.
let eightMiB: Data = {
    var bytes = (0..<251).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    while bytes.count < 8 << 20 { bytes += bytes }
    return Data(bytes[0..<(8 << 20)])
}()

/// Method descriptors of `peers.echo.Echo`.
enum Echo {
    static let service = "peers.echo.Echo"
    static let unary = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(service: service, method: "Unary", kind: .unary)
    static let serverStream = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
        service: service, method: "ServerStream", kind: .serverStreaming)
    static let clientStream = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
        service: service, method: "ClientStream", kind: .clientStreaming)
    static let bidi = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(
        service: service, method: "Bidi", kind: .bidirectionalStreaming)
    static let fail = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(service: service, method: "Fail", kind: .unary)
    static let stats = MethodDescriptor<Peers_Echo_Msg, Peers_Echo_Msg>(service: service, method: "Stats", kind: .unary)
}

/// Counts calls the server saw cancelled by the client.
/// A thread-safe counter.
final class CancellationCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// The Swift implementation of the echo service, with the semantics of the Python oracle server.
struct EchoService: GRPCService {
    let cancellations = CancellationCounter()

    func register(with router: inout ServiceRouter) {
        router.unary(Echo.unary) { request, context in
            context.trailingMetadata.add("x-echo-trailer", "t1")
            context.trailingMetadata.add("x-bin-bin", bytes: [0, 1])
            if let header = context.requestMetadata.first("x-echo-header") {
                context.initialMetadata.add("x-echo-header", header)
            }
            if request.text == "sleep" {
                do {
                    try await Task.sleep(for: .seconds(Int(request.n)))
                } catch {
                    cancellations.increment()
                    throw error
                }
            }
            return request
        }
        router.serverStreaming(Echo.serverStream) { request, writer, _ in
            do {
                for i in 0..<request.n {
                    try await writer.write(Peers_Echo_Msg(text: "\(request.text)-\(i)", n: i))
                }
            } catch {
                cancellations.increment()
                throw error
            }
        }
        router.clientStreaming(Echo.clientStream) { requests, _ in
            var text = ""
            var count: Int32 = 0
            for try await message in requests {
                text += message.text
                count += 1
            }
            return Peers_Echo_Msg(text: text, n: count)
        }
        router.bidirectionalStreaming(Echo.bidi) { requests, writer, _ in
            for try await message in requests {
                try await writer.write(message)
            }
        }
        router.unary(Echo.fail) { request, context in
            context.trailingMetadata.add("x-fail", "yes")
            throw RPCError(
                code: StatusCode(rawValue: Int(request.n)) ?? .unknown, message: request.text,
                details: request.blob.isEmpty ? nil : Array(request.blob))
        }
        router.unary(Echo.stats) { [cancellations] _, _ in
            Peers_Echo_Msg(text: "stats", n: Int32(cancellations.value))
        }
    }
}
