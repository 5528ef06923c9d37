import Tracing
import WireCore

/// Spans around PostgreSQL operations (swift-distributed-tracing), following OpenTelemetry's
/// database conventions: a client span named `<verb> <database>` (e.g. `SELECT chat`) with
/// `db.system` = `postgresql`, `db.operation` (the statement's first word, `PIPELINE`, `COPY`),
/// `db.name`, `db.user`, `server.address`, `server.port`, `db.operation.batch.size` for pipelines,
/// and `db.statement` only when ``WireCore/WireTracing/recordsStatements`` is on. A failed
/// operation records its error and an error status.
///
/// Made only while a real tracer is in effect (``WireCore/WireTracing/activeTracer``); otherwise an
/// entry point pays one tracer lookup. A public entry point called from another (the client's
/// `query` running the connection's `execute`) makes one span.
enum PGTracing {
    static let system = "postgresql"

    static func attributes(_ configuration: PostgresConfiguration, verb: String, statement: String?, into attributes: inout SpanAttributes) {
        attributes["db.system"] = system
        attributes["db.operation"] = verb
        if let database = configuration.database { attributes["db.name"] = database }
        attributes["db.user"] = configuration.user
        if case .tcp(let host, let port) = configuration.endpoint {
            attributes["server.address"] = host
            attributes["server.port"] = port
        }
        if let statement, WireTracing.recordsStatements { attributes["db.statement"] = statement }
    }

    static func spanName(_ verb: String, _ configuration: PostgresConfiguration) -> String {
        configuration.database.map { "\(verb) \($0)" } ?? verb
    }


    /// The span of one statement (nil when tracing is off).
    static func operation(_ sql: String, _ configuration: PostgresConfiguration) -> WireOperation? {
        guard WireTracing.activeTracer != nil else { return nil }
        let verb = WireTracing.statementVerb(sql)
        return WireTracing.operation(system: system, name: spanName(verb, configuration)) { attributes(configuration, verb: verb, statement: sql, into: &$0) }
    }

    /// The span of a pipeline of statements (nil when tracing is off).
    static func pipeline(_ queries: [PostgresQuery], _ configuration: PostgresConfiguration) -> WireOperation? {
        guard WireTracing.activeTracer != nil else { return nil }
        return WireTracing.operation(system: system, name: spanName("PIPELINE", configuration)) {
            attributes(configuration, verb: "PIPELINE", statement: queries.map(\.sql).joined(separator: ";\n"), into: &$0)
            $0["db.operation.batch.size"] = queries.count
        }
    }
}

extension PostgresConnection {
    /// The span of `sql` on this connection (nil when tracing is off).
    func traced(_ sql: String) -> WireOperation? { PGTracing.operation(sql, configuration) }
}

extension PostgresClient {
    /// The span of `sql` run on a pooled connection, lease included (nil when tracing is off).
    func traced(_ sql: String) -> WireOperation? { PGTracing.operation(sql, configuration.connection) }
}
