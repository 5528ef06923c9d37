import Tracing
import WireCore

/// Spans around Redis commands (swift-distributed-tracing), following OpenTelemetry's database
/// conventions: a client span named for the command (`GET`, or `PIPELINE`) with `db.system` =
/// `redis`, `db.operation`, `db.redis.database_index`, `server.address` and `server.port` (single
/// server), `db.operation.batch.size` for pipelines, and `db.statement` (the command and its
/// arguments) only when ``WireCore/WireTracing/recordsStatements`` is on. A failed command records
/// its error and an error status.
///
/// Made only while a real tracer is in effect (``WireCore/WireTracing/activeTracer``); otherwise an
/// entry point pays one tracer lookup. A client calling another (sentinel and cluster clients
/// running a node's client) makes one span.
enum RedisTracing {
    static let system = "redis"

    static func operation(_ name: String, commands: @autoclosure () -> [RedisCommand], batchSize: Int? = nil,
                          connection: RedisConnectionConfiguration?) -> WireOperation? {
        guard WireTracing.activeTracer != nil else { return nil }
        return WireTracing.operation(system: system, name: name) { attributes in
            attributes["db.system"] = system
            attributes["db.operation"] = name
            if let connection {
                attributes["db.redis.database_index"] = connection.database
                if case .tcp(let host, let port) = connection.transport.endpoint {
                    attributes["server.address"] = host
                    attributes["server.port"] = port
                }
            }
            if let batchSize { attributes["db.operation.batch.size"] = batchSize }
            if WireTracing.recordsStatements { attributes["db.statement"] = commands().map(statement).joined(separator: "\n") }
        }
    }

    static func statement(_ command: RedisCommand) -> String {
        command.arguments.map { String(decoding: $0.bytes, as: UTF8.self) }.joined(separator: " ")
    }

    static func command(_ command: RedisCommand, _ connection: RedisConnectionConfiguration?) -> WireOperation? {
        guard WireTracing.activeTracer != nil else { return nil }
        return operation(command.name, commands: [command], connection: connection)
    }

    static func pipeline(_ commands: [RedisCommand], _ connection: RedisConnectionConfiguration?) -> WireOperation? {
        guard WireTracing.activeTracer != nil else { return nil }
        return operation("PIPELINE", commands: commands, batchSize: commands.count, connection: connection)
    }
}
