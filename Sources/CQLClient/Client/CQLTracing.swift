import Tracing
import WireCore

/// Spans around CQL operations (swift-distributed-tracing), following OpenTelemetry's database
/// conventions: a client span named `<verb> <keyspace>` (e.g. `INSERT chats`) with `db.system` =
/// `cassandra`, `db.operation` (the statement's first word, or `BATCH`), `db.name` (the keyspace),
/// `db.cassandra.consistency_level`, `db.operation.batch.size` for batches, and `db.statement`
/// only when ``WireCore/WireTracing/recordsStatements`` is on. A failed operation records its
/// error and an error status.
///
/// Made only while a real tracer is in effect (``WireCore/WireTracing/activeTracer``); otherwise an
/// entry point pays one tracer lookup. An entry point calling another (`execute(_:)` preparing and
/// then executing) makes one span.
enum CQLTracing {
    static let system = "cassandra"

    static func operation(_ session: CassandraSession, verb: String, statement: @autoclosure () -> String, keyspace: String?,
                          options: CQLStatementOptions, batchSize: Int? = nil) -> WireOperation? {
        guard WireTracing.activeTracer != nil else { return nil }
        let keyspace = keyspace ?? session.keyspace
        return WireTracing.operation(system: system, name: keyspace.map { "\(verb) \($0)" } ?? verb) { attributes in
            attributes["db.system"] = system
            attributes["db.operation"] = verb
            if let keyspace { attributes["db.name"] = keyspace }
            attributes["db.cassandra.consistency_level"] = "\(options.consistency ?? session.configuration.defaultConsistency)"
            if let batchSize { attributes["db.operation.batch.size"] = batchSize }
            if WireTracing.recordsStatements { attributes["db.statement"] = statement() }
        }
    }
}

extension CassandraSession {
    /// The span of one statement (nil when tracing is off).
    func traced(_ statement: String, keyspace: String? = nil, _ options: CQLStatementOptions) -> WireOperation? {
        CQLTracing.operation(self, verb: WireTracing.statementVerb(statement), statement: statement, keyspace: keyspace ?? options.keyspace, options: options)
    }

    /// The span of a batch (nil when tracing is off).
    func traced(batch statements: [CQLBatchStatement], _ options: CQLStatementOptions) -> WireOperation? {
        CQLTracing.operation(self, verb: "BATCH", statement: statements.map(\.query).joined(separator: ";\n"), keyspace: options.keyspace,
                             options: options, batchSize: statements.count)
    }
}
