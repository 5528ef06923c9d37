import ChatServer
import ChatWire
import Foundation
import GRPCWire
import Logging
import NIOHTTP1
import ServiceLifecycle
import Testing
import Tracing
import WireCore

/// Trace context end to end against the real peers: a chat server on PostgreSQL, the CQL node,
/// Redis and the Kafka broker (Tansu), with WireCore's tracer and an in-memory exporter bound for
/// the test (`withTracer`, so no other test sees it).
///
/// - An HTTP request carrying `traceparent` that sends a chat message (an invitation: a CONNECTION
///   message on the backplane) yields spans of that one trace for the HTTP request, its
///   PostgreSQL queries, the Kafka produce and the consume on the other side.
/// - A gRPC `SendPlainText` from a GRPCWire client with the tracing interceptor yields the client
///   span, the server span (child over the wire), the Kafka produce and consume, and the history
///   writer's Cassandra writes, one trace.
@Suite(.serialized, .timeLimit(.minutes(4))) struct TracingTests {
    static func string(_ span: FinishedSpan, _ key: String) -> String? {
        guard case .string(let value)? = span.attributes[key]?.toSpanAttribute() else { return nil }
        return value
    }

    /// True when `span` is `ancestor` or below it in `spans`.
    static func descends(_ span: FinishedSpan, from ancestor: FinishedSpan, in spans: [FinishedSpan]) -> Bool {
        var current: FinishedSpan? = span
        for _ in 0..<64 {
            guard let c = current else { return false }
            if c.spanID == ancestor.spanID { return true }
            current = spans.first { $0.spanID == c.parentSpanID }
        }
        return false
    }

    /// Waits until the trace's spans satisfy `done`; on timeout, fails listing what arrived.
    static func waitFor(_ exporter: InMemorySpanExporter, _ trace: TraceID, _ done: ([FinishedSpan]) -> Bool) async throws {
        do {
            try await eventually(30) { done(exporter.spans(of: trace)) }
        } catch {
            let all = exporter.finishedSpans
            Issue.record("trace \(trace) incomplete: \(exporter.spans(of: trace).map { "\($0.name) [\($0.kind)]" }); \(all.count) spans in all: \(Set(all.map(\.name)).sorted())")
            throw error
        }
    }

    @Test func traceFlowsFromHTTPAndGRPCThroughPostgresKafkaAndCassandra() async throws {
        guard PeerEnvironment.requireAll(), let bootstrap = ScalePeers.require("WIRESTACK_KAFKA_TANSU") else { return }
        let dataDirectory = TestServer.temporaryDirectory()
        var deployment = try #require(PeerEnvironment.deployment(for: dataDirectory))
        deployment.kafka = bootstrap
        deployment.kafkaPrefix = "trace-\(UUID().uuidString.prefix(8).lowercased())-"
        let topic = deployment.kafkaPrefix + KafkaBackplaneConfiguration(bootstrap: bootstrap).topic
        let exporter = InMemorySpanExporter()
        let tracer = WireTracer(exporter: exporter)
        try await withTracer(tracer) {
            try await GRPCTestServer.run(deployment: deployment, dataDirectory: dataDirectory) { port, grpcPort in
                let anna = try await TestUser.make("anna", port: port)
                let bert = try await TestUser.make("bert", port: port)

                // 1. HTTP: an invitation carrying traceparent.
                let traceID = TraceID.random()
                let callerSpan = SpanID.random()
                let headers = HTTPHeaders([("traceparent", TraceParent(traceID: traceID, parentID: callerSpan).description)])
                let response = try await anna.client.send(.POST, "/api/connections/\(bert.id)/invite", headers: headers, body: nil)
                #expect(response.status == 200)
                try await Self.waitFor(exporter, traceID) { spans in
                    let names = spans.map(\.name)
                    // ... including the history writer's (consumer group `chats`) handling, so that
                    // the message sent next is a batch of its own for it.
                    return names.contains("send \(topic)") && names.contains("receive \(topic)") && spans.contains { $0.kind == .server }
                        && spans.contains { $0.name == "process \(topic)" && Self.string($0, "messaging.consumer.group.name") == "chats" }
                }
                let http = exporter.spans(of: traceID)
                let server = try #require(http.first { $0.kind == .server })
                #expect(server.parentSpanID == callerSpan)
                #expect(Self.string(server, "http.request.method") == "POST")
                #expect(Self.string(server, "url.path") == "/api/connections/\(bert.id)/invite")
                let queries = http.filter { Self.string($0, "db.system") == "postgresql" }
                #expect(!queries.isEmpty, "no PostgreSQL span in the request's trace: \(http.map(\.name))")
                #expect(queries.allSatisfy { Self.descends($0, from: server, in: http) && $0.kind == .client })
                let sends = http.filter { $0.name == "send \(topic)" }
                #expect(!sends.isEmpty && sends.allSatisfy { $0.kind == .producer && Self.descends($0, from: server, in: http) })
                // The consumer continues the trace from the record headers: its spans are children of a send span.
                let consumed = http.filter { $0.name == "receive \(topic)" || $0.name == "process \(topic)" }
                #expect(consumed.allSatisfy { span in span.kind == .consumer && sends.contains { $0.spanID == span.parentSpanID } })

                // 2. gRPC: SendPlainText from a traced GRPCWire client.
                var client = GRPCClient.Configuration(host: "127.0.0.1", port: grpcPort)
                client.connectTimeout = .seconds(10)
                let grpc = GRPCClient(configuration: client, interceptors: [TracingClientInterceptor(tracer: tracer)], logger: Logger(label: "trace-grpc"))
                var auth = Metadata()
                auth.add("authorization", "Bearer \(anna.session.accessToken)")
                let (ids, idSink) = AsyncStream<String>.makeStream()
                let listen = Task { [auth] in
                    try await grpc.serverStreaming(MessagingMethods.listen, Chatwire_ListenRequest(), options: CallOptions(metadata: auth)) { responses in
                        idSink.yield(try await responses.initialMetadata.first(MessagingMethods.connectionIDKey) ?? "")
                        for try await _ in responses {}
                    }
                }
                var idIterator = ids.makeAsyncIterator()
                let connectionID = try #require(await idIterator.next())
                var unary = auth
                unary.add(MessagingMethods.connectionIDKey, connectionID)
                var request = Chatwire_SendPlainTextRequest()
                request.receiverID = bert.id
                request.text = "traced hello"
                let root = tracer.startSpan("test client", context: .topLevel, ofKind: .internal)
                let sent = try await ServiceContext.withValue(root.context) { [unary, request] in
                    try await grpc.unary(MessagingMethods.sendPlainText, request, options: CallOptions(timeout: .seconds(30), metadata: unary))
                }
                root.end()
                #expect(sent.messageID > 0)
                let grpcTrace = root.spanContext.traceID
                try await Self.waitFor(exporter, grpcTrace) { spans in
                    // The writer's process span ends after its Cassandra writes.
                    spans.contains { $0.name == "process \(topic)" && Self.string($0, "messaging.consumer.group.name") == "chats" }
                        && spans.contains { Self.string($0, "db.system") == "cassandra" } && spans.contains { $0.name == "receive \(topic)" }
                }
                listen.cancel()
                _ = await listen.result
                await grpc.close()

                let spans = exporter.spans(of: grpcTrace)
                let clientCall = try #require(spans.first { $0.kind == .client && $0.name == "chatwire.Messaging/SendPlainText" })
                let serverCall = try #require(spans.first { $0.kind == .server && $0.name == "chatwire.Messaging/SendPlainText" })
                #expect(clientCall.parentSpanID == root.spanContext.spanID)
                #expect(serverCall.parentSpanID == clientCall.spanID)
                #expect(Self.string(serverCall, "rpc.system") == "grpc")
                let send = try #require(spans.first { $0.name == "send \(topic)" })
                #expect(Self.descends(send, from: serverCall, in: spans))
                let receive = try #require(spans.first { $0.name == "receive \(topic)" })
                #expect(receive.parentSpanID == send.spanID)
                // The history writer (consumer group `chats`) continues the trace into its Cassandra writes.
                let writer = try #require(spans.first { $0.name == "process \(topic)" && Self.string($0, "messaging.consumer.group.name") == "chats" })
                #expect(writer.parentSpanID == send.spanID)
                let writes = spans.filter { Self.string($0, "db.system") == "cassandra" }
                #expect(!writes.isEmpty && writes.allSatisfy { Self.descends($0, from: writer, in: spans) })
            }
        }
    }
}
