import Logging
import Synchronization
import Testing
import Tracing
import WireCore

/// W3C Trace Context (https://www.w3.org/TR/trace-context/): the specification's examples and
/// its parsing rules, and the tracer's propagation through inject/extract.
@Suite struct TraceContextTests {
    // The specification's example header (section 3.2.2.5 and Examples).
    static let example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func parsesAndFormatsTheSpecificationExample() throws {
        let parent = try #require(TraceParent(parsing: Self.example))
        #expect(parent.traceID.description == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(parent.traceID == TraceID(high: 0x4bf9_2f35_77b3_4da6, low: 0xa3ce_929d_0e0e_4736))
        #expect(parent.parentID == SpanID(0x00f0_67aa_0ba9_02b7))
        #expect(parent.flags.contains(.sampled))
        #expect(parent.description == Self.example)
        // The same trace, not sampled.
        let unsampled = try #require(TraceParent(parsing: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"))
        #expect(!unsampled.flags.contains(.sampled))
        #expect(unsampled.description == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
        // Optional whitespace around a header value is not part of it.
        #expect(TraceParent(parsing: " \(Self.example)\t") == parent)
    }

    @Test(arguments: [
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  // upper-case hex
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // all-zero trace-id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // all-zero parent-id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff is invalid
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 is exactly 55 characters
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  // short trace-id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",  // short parent-id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",  // short flags
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",  // wrong separator
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  // not hex
        "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version not hex
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what",  // higher version: flags must end or be followed by '-'
        "",
    ])
    func rejectsInvalidHeaders(_ header: String) {
        #expect(TraceParent(parsing: header) == nil)
    }

    @Test func parsesAHigherVersionAndSendsVersion00() throws {
        // A future version may append fields after a '-'; the known fields are still read.
        let future = try #require(TraceParent(parsing: "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like"))
        #expect(future.traceID.description == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(future.parentID.description == "00f067aa0ba902b7")
        #expect(future.description == Self.example)
        #expect(TraceParent(parsing: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") != nil)
    }

    @Test func traceStatePassesThrough() throws {
        // The specification's example, and several header lines joined.
        #expect(TraceState("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")?.rawValue == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
        let joined = try #require(TraceState("rojo=00f067aa0ba902b7 , ,congo=t61rcWkgMzE"))
        #expect(joined.rawValue == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
        #expect(joined.entries.map(\.key) == ["rojo", "congo"])
        #expect(joined.entries.map(\.value) == ["00f067aa0ba902b7", "t61rcWkgMzE"])
        // Multi-tenant keys are valid members.
        #expect(TraceState("fw529a3039@dt=r0ck")?.entries.first?.key == "fw529a3039@dt")
        // What does not parse as a list is passed on unchanged.
        #expect(TraceState("Not A List")?.rawValue == "Not A List")
        #expect(TraceState(" , ") == nil)
        // At most 32 members are kept.
        let many = (0..<40).map { "k\($0)=v" }.joined(separator: ",")
        #expect(TraceState(many)?.entries.count == 32)
    }

    @Test func idsAreRandomAndValid() {
        let traces = Set((0..<100).map { _ in TraceID.random() })
        #expect(traces.count == 100 && traces.allSatisfy(\.isValid))
        #expect(traces.allSatisfy { TraceID(hex: $0.description) == $0 })
        let spans = Set((0..<100).map { _ in SpanID.random() })
        #expect(spans.count == 100 && spans.allSatisfy(\.isValid))
        #expect(!TraceID(high: 0, low: 0).isValid && !SpanID(0).isValid)
    }

    struct DictionaryInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    }
    struct DictionaryExtractor: Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    }

    @Test func tracerContinuesAnIncomingTraceAndInjectsItsSpan() throws {
        let exporter = InMemorySpanExporter()
        let tracer = WireTracer(exporter: exporter)
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": Self.example, "tracestate": "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"], into: &context, using: DictionaryExtractor())
        let remote = try #require(context.wireSpanContext)
        #expect(remote.isRemote && remote.spanID.description == "00f067aa0ba902b7")

        let span = tracer.startSpan("handle", context: context, ofKind: .server)
        var outgoing: [String: String] = [:]
        tracer.inject(span.context, into: &outgoing, using: DictionaryInjector())
        let sent = try #require(outgoing["traceparent"].flatMap { TraceParent(parsing: $0) })
        #expect(sent.traceID.description == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(sent.parentID == span.spanContext.spanID && sent.parentID.description != "00f067aa0ba902b7")
        #expect(sent.flags.contains(.sampled))
        #expect(outgoing["tracestate"] == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")

        let child = tracer.startSpan("query", context: span.context, ofKind: .client)
        child.attributes["db.system"] = "postgresql"
        child.end()
        span.end()
        span.end()  // ends once
        let spans = exporter.finishedSpans
        #expect(spans.map(\.name) == ["query", "handle"])
        #expect(spans.allSatisfy { $0.traceID.description == "4bf92f3577b34da6a3ce929d0e0e4736" })
        #expect(spans[1].parentSpanID?.description == "00f067aa0ba902b7")
        #expect(spans[0].parentSpanID == spans[1].spanID)
        #expect(spans[0].attributes["db.system"]?.toSpanAttribute() == .string("postgresql"))
        #expect(spans[0].kind == .client && spans[1].kind == .server)
    }

    @Test func invalidTraceParentStartsANewTraceAndDropsTraceState() {
        let exporter = InMemorySpanExporter()
        let tracer = WireTracer(exporter: exporter)
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "tracestate": "rojo=1"],
                       into: &context, using: DictionaryExtractor())
        #expect(context.wireSpanContext == nil)
        let span = tracer.startSpan("root", context: context, ofKind: .server)
        var outgoing: [String: String] = [:]
        tracer.inject(span.context, into: &outgoing, using: DictionaryInjector())
        #expect(outgoing["tracestate"] == nil)
        #expect(span.spanContext.parentSpanID == nil && span.spanContext.traceID.isValid)
        span.end()
        #expect(exporter.finishedSpans.count == 1)
    }

    @Test func unsampledTracesPropagateButAreNotExported() throws {
        let exporter = InMemorySpanExporter()
        let tracer = WireTracer(exporter: exporter)
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"], into: &context, using: DictionaryExtractor())
        let span = tracer.startSpan("handle", context: context, ofKind: .server)
        #expect(!span.isRecording)
        var outgoing: [String: String] = [:]
        tracer.inject(span.context, into: &outgoing, using: DictionaryInjector())
        let sent = try #require(outgoing["traceparent"].flatMap { TraceParent(parsing: $0) })
        #expect(!sent.flags.contains(.sampled) && sent.traceID.description == "4bf92f3577b34da6a3ce929d0e0e4736")
        span.end()
        #expect(exporter.finishedSpans.isEmpty)
    }

    struct Failure: Error {}

    @Test func operationsNestOnceRecordErrorsAndAreOffWithoutATracer() async throws {
        // No tracer in effect: nothing is made.
        #expect(WireTracing.operation(system: "postgresql", name: "SELECT") { _ in } == nil)
        let exporter = InMemorySpanExporter()
        try await withTracer(WireTracer(exporter: exporter)) {
            let outer = try #require(WireTracing.operation(system: "postgresql", name: "SELECT db") { $0["db.system"] = "postgresql" })
            let value = try await outer.run { () async throws -> Int in
                // Inside a postgresql span another postgresql entry point makes no second span,
                #expect(WireTracing.operation(system: "postgresql", name: "SELECT") { _ in } == nil)
                // but another system does.
                let inner = try #require(WireTracing.operation(system: "redis", name: "GET") { _ in })
                return await inner.run { 7 }
            }
            #expect(value == 7)
            let failing = try #require(WireTracing.operation(system: "cassandra", name: "INSERT") { _ in })
            await #expect(throws: Failure.self) { try await failing.run { throw Failure() } }
        }
        let spans = exporter.finishedSpans
        #expect(spans.map(\.name) == ["GET", "SELECT db", "INSERT"])
        #expect(spans[0].parentSpanID == spans[1].spanID && spans[0].traceID == spans[1].traceID)
        #expect(spans[2].status?.code == .error)
        #expect(spans[2].events.map(\.name) == ["exception"])
        #expect(WireTracing.statementVerb("  select 1") == "SELECT")
        #expect(WireTracing.statementVerb("(SELECT 1) UNION (SELECT 2)") == "SELECT")
    }

    final class Records: Sendable {
        let items = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
    }

    struct CapturingHandler: LogHandler {
        let records: Records
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            records.items.withLock { $0.append((event.message.description, event.metadata ?? [:])) }
        }
    }

    @Test func loggingExporterWritesStructuredSpans() throws {
        let records = Records()
        let logger = Logger(label: "trace-test") { _ in CapturingHandler(records: records) }
        let tracer = WireTracer(exporter: LoggingSpanExporter(logger: logger))
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": Self.example], into: &context, using: DictionaryExtractor())
        let span = tracer.startSpan("GET /api/profiles", context: context, ofKind: .server)
        span.attributes["http.response.status_code"] = 200
        span.recordError(Failure())
        span.end()
        let record = try #require(records.items.withLock { $0.first })
        #expect(record.message == "span GET /api/profiles")
        #expect(record.metadata["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(record.metadata["span_id"] == "\(span.spanContext.spanID)")
        #expect(record.metadata["parent_id"] == "00f067aa0ba902b7")
        #expect(record.metadata["kind"] == "server")
        #expect(record.metadata["status"] == "error")
        #expect(record.metadata["duration_us"] != nil)
        guard case .dictionary(let attributes)? = record.metadata["attributes"] else { Issue.record("no attributes"); return }
        #expect(attributes["http.response.status_code"] == "200")
        guard case .array(let events)? = record.metadata["events"] else { Issue.record("no events"); return }
        #expect(events.count == 1)
    }
}
