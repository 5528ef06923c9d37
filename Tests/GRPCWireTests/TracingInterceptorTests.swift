import GRPCWire
import Synchronization
import Testing
import Tracing
import WireCore

/// The tracing interceptors carry W3C trace context from a GRPCWire client to a GRPCWire server
/// over a real loopback HTTP/2 connection, with a span on each side.
@Suite(.timeLimit(.minutes(2))) struct TracingInterceptorTests {
    /// Records the span context the handler ran in.
    final class Seen: Sendable {
        let contexts = Mutex<[WireSpanContext?]>([])
        let traceparents = Mutex<[String?]>([])
    }

    struct ContextRecordingService: GRPCService {
        let seen: Seen
        func register(with router: inout ServiceRouter) {
            router.unary(Echo.unary) { request, context in
                seen.contexts.withLock { $0.append(ServiceContext.current?.wireSpanContext) }
                seen.traceparents.withLock { $0.append(context.requestMetadata.first("traceparent")) }
                return request
            }
            router.unary(Echo.fail) { request, _ in
                throw RPCError(code: StatusCode(rawValue: Int(request.n)) ?? .unknown, message: request.text)
            }
        }
    }

    @Test func clientCallCarriesTheTraceToTheServerSpan() async throws {
        let exporter = InMemorySpanExporter()
        let tracer = WireTracer(exporter: exporter)
        let seen = Seen()
        try await withServer(services: [ContextRecordingService(seen: seen)], interceptors: [TracingServerInterceptor(tracer: tracer)]) { _, port in
            try await withClient(port: port, interceptors: [TracingClientInterceptor(tracer: tracer)]) { client in
                // The caller's own span is the client span's parent.
                let caller = tracer.startSpan("caller", context: .topLevel, ofKind: .internal)
                try await ServiceContext.withValue(caller.context) {
                    let response = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "traced"))
                    #expect(response.text == "traced")
                    let error = await expectRPCError { _ = try await client.unary(Echo.fail, Peers_Echo_Msg(text: "no", n: Int32(StatusCode.notFound.rawValue))) }
                    #expect(error?.code == .notFound)
                }
                caller.end()
            }
        }
        let trace = try #require(exporter.finishedSpans.first { $0.name == "caller" }).traceID
        let spans = exporter.spans(of: trace)
        let clientSpans = spans.filter { $0.kind == .client }
        let serverSpans = spans.filter { $0.kind == .server }
        #expect(clientSpans.map(\.name) == ["peers.echo.Echo/Unary", "peers.echo.Echo/Fail"])
        #expect(serverSpans.map(\.name).sorted() == ["peers.echo.Echo/Fail", "peers.echo.Echo/Unary"])
        let unaryClient = try #require(clientSpans.first { $0.name.hasSuffix("Unary") })
        let unaryServer = try #require(serverSpans.first { $0.name.hasSuffix("Unary") })
        let caller = try #require(spans.first { $0.name == "caller" })
        // caller -> client span -> (over the wire) server span, one trace.
        #expect(unaryClient.parentSpanID == caller.spanID)
        #expect(unaryServer.parentSpanID == unaryClient.spanID)
        #expect(unaryServer.attributes["rpc.system"]?.toSpanAttribute() == .string("grpc"))
        #expect(unaryServer.attributes["rpc.service"]?.toSpanAttribute() == .string("peers.echo.Echo"))
        #expect(unaryServer.attributes["rpc.method"]?.toSpanAttribute() == .string("Unary"))
        #expect(unaryServer.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == .int64(0))
        #expect(unaryClient.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == .int64(0))
        // The handler ran inside the server span, and the wire carried the client span as traceparent.
        let handlerContext = try #require(seen.contexts.withLock { $0.first } ?? nil)
        #expect(handlerContext.spanID == unaryServer.spanID && handlerContext.traceID == trace)
        let header = try #require(seen.traceparents.withLock { $0.first } ?? nil)
        #expect(header == "00-\(trace)-\(unaryClient.spanID)-01")
        // A failed call records its status code and an error on both sides.
        for span in spans where span.name.hasSuffix("Fail") {
            #expect(span.attributes["rpc.grpc.status_code"]?.toSpanAttribute() == .int64(Int64(StatusCode.notFound.rawValue)))
            #expect(span.status?.code == .error)
        }
    }

    @Test func withoutATracerCallsPassThroughUntouched() async throws {
        let seen = Seen()
        try await withServer(services: [ContextRecordingService(seen: seen)], interceptors: [TracingServerInterceptor()]) { _, port in
            try await withClient(port: port, interceptors: [TracingClientInterceptor()]) { client in
                _ = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "plain"))
            }
        }
        #expect(seen.traceparents.withLock { $0 } == [nil])
        #expect(seen.contexts.withLock { $0 } == [nil])
    }
}
