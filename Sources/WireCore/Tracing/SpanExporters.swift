import Logging
import Synchronization
import Tracing

/// Logs each finished span as one structured swift-log message: `span <name>` with metadata
/// `trace_id`, `span_id`, `parent_id`, `kind`, `duration_us`, `status` (and `status_message`),
/// `attributes`, and `events` when there are any.
public struct LoggingSpanExporter: SpanExporter {
    /// The logger spans are written to.
    public let logger: Logger
    /// The level of the messages.
    public let level: Logger.Level

    /// An exporter writing to `logger` at `level` (info by default).
    public init(logger: Logger, level: Logger.Level = .info) {
        self.logger = logger
        self.level = level
    }

    /// Logs the span.
    public func export(_ span: FinishedSpan) {
        logger.log(level: level, "span \(span.name)", metadata: Self.metadata(of: span))
    }

    /// The structured metadata of one span.
    public static func metadata(of span: FinishedSpan) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "trace_id": "\(span.traceID)",
            "span_id": "\(span.spanID)",
            "parent_id": "\(span.parentSpanID.map { "\($0)" } ?? "")",
            "kind": "\(span.kind)",
            "duration_us": "\((span.endNanoseconds &- span.startNanoseconds) / 1000)",
            "status": "\(span.status.map { $0.code == .ok ? "ok" : "error" } ?? "unset")",
        ]
        if let message = span.status?.message { metadata["status_message"] = "\(message)" }
        var attributes: Logger.Metadata = [:]
        span.attributes.forEach { key, value in attributes[key] = .string(Self.text(of: value)) }
        metadata["attributes"] = .dictionary(attributes)
        if !span.events.isEmpty {
            metadata["events"] = .array(span.events.map { event in
                var fields: Logger.Metadata = ["name": "\(event.name)"]
                event.attributes.forEach { key, value in fields[key] = .string(Self.text(of: value)) }
                return .dictionary(fields)
            })
        }
        return metadata
    }

    static func text(of attribute: SpanAttribute) -> String {
        switch attribute {
        case .string(let s): s
        case .int32(let v): "\(v)"
        case .int64(let v): "\(v)"
        case .double(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .stringArray(let v): v.joined(separator: ",")
        case .int32Array(let v): v.map { "\($0)" }.joined(separator: ",")
        case .int64Array(let v): v.map { "\($0)" }.joined(separator: ",")
        case .doubleArray(let v): v.map { "\($0)" }.joined(separator: ",")
        case .boolArray(let v): v.map { "\($0)" }.joined(separator: ",")
        case .stringConvertible(let v): "\(v)"
        case .stringConvertibleArray(let v): v.map { "\($0)" }.joined(separator: ",")
        default: "\(attribute)"
        }
    }
}

/// Keeps finished spans in memory (bounded: the oldest are dropped beyond `capacity`), for tests
/// and for inspecting a process's recent traces.
public final class InMemorySpanExporter: SpanExporter {
    private let spans: Mutex<[FinishedSpan]>
    private let capacity: Int

    /// An exporter keeping the last `capacity` spans.
    public init(capacity: Int = 10_000) {
        self.capacity = capacity
        self.spans = Mutex([])
    }

    /// Stores the span.
    public func export(_ span: FinishedSpan) {
        spans.withLock { spans in
            spans.append(span)
            if spans.count > capacity { spans.removeFirst(spans.count - capacity) }
        }
    }

    /// Every kept span, in the order they ended.
    public var finishedSpans: [FinishedSpan] { spans.withLock { $0 } }

    /// The kept spans of one trace.
    public func spans(of trace: TraceID) -> [FinishedSpan] { spans.withLock { $0.filter { $0.traceID == trace } } }

    /// Drops every kept span.
    public func reset() { spans.withLock { $0.removeAll() } }
}
