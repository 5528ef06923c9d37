import ChatWire
import PGWire

/// ``ConfigStore`` on PostgreSQL: the reference's `elements` table (name, value, version),
/// updated in one transaction with the version as the concurrency token.
public struct PostgresConfigStore: ConfigStore {
    let client: PostgresStoreClient

    /// A store on `client`; seeds `defaults` for names not present yet.
    public init(client: PostgresClient, defaults: [String: String]) async throws {
        self.client = PostgresStoreClient(client)
        for (name, value) in defaults.sorted(by: { $0.key < $1.key }) {
            _ = try await client.query("INSERT INTO elements (name, value, version) VALUES (\(name), \(value), clock_timestamp()) ON CONFLICT (name) DO NOTHING")
        }
    }

    public func elements() async throws -> [ConfigElement] {
        try await client.query("SELECT name, value, version FROM elements ORDER BY name").rows.map {
            let (name, value, version) = try $0.decode((String, String, PGInstant).self)
            return ConfigElement(name: name, value: value, version: version.timestamp)
        }
    }

    public func update(_ request: ConfigUpdateRequest) async throws -> Set<String> {
        do {
            return try await client.withTransaction { conn in
                var sections = Set<String>()
                for element in request.newElements {
                    _ = try await conn.execute("INSERT INTO elements (name, value, version) VALUES (\(element.name), \(element.value), clock_timestamp())")
                    sections.insert(DynamicConfig.section(of: element.name))
                }
                for element in request.existingElements {
                    let updated = try await conn.execute("""
                        UPDATE elements SET value = \(element.value), version = \(unescaped: pgNextVersion)
                        WHERE name = \(element.name) AND version = \(PGInstant(element.version))
                        """)
                    if updated.rowCount != 1 { throw ConfigUpdateError.concurrentlyUpdated }
                    sections.insert(DynamicConfig.section(of: element.name))
                }
                for element in request.deletedElements {
                    let deleted = try await conn.execute("DELETE FROM elements WHERE name = \(element.name) AND version = \(PGInstant(element.version))")
                    if deleted.rowCount != 1 { throw ConfigUpdateError.concurrentlyUpdated }
                    sections.insert(DynamicConfig.section(of: element.name))
                }
                return sections
            }
        } catch let error as PostgresError where error.violation?.state == .uniqueViolation {
            throw ConfigUpdateError.newElementsExist
        }
    }
}
