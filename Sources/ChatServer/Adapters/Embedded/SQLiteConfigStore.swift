import ChatWire
import GRDB

/// ``ConfigStore`` on SQLite (table `config`).
public struct SQLiteConfigStore: ConfigStore {
    let db: DatabasePool

    /// A store on the `users` database; seeds `defaults` for names not present yet.
    public init(db: DatabasePool, defaults: [String: String]) throws {
        self.db = db
        try db.write { db in
            for (name, value) in defaults {
                try db.execute(sql: "INSERT OR IGNORE INTO config (name, value, version) VALUES (?, ?, ?)",
                               arguments: [name, value, ChatTimestamp.now().microseconds])
            }
        }
    }

    public func elements() async throws -> [ConfigElement] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM config ORDER BY name").map {
                ConfigElement(name: $0["name"], value: $0["value"], version: ChatTimestamp(microseconds: $0["version"]))
            }
        }
    }

    public func update(_ request: ConfigUpdateRequest) async throws -> Set<String> {
        try await db.write { db in
            var sections = Set<String>()
            let version = ChatTimestamp.now().microseconds
            for element in request.newElements {
                if try Int.fetchOne(db, sql: "SELECT 1 FROM config WHERE name = ?", arguments: [element.name]) != nil {
                    throw ConfigUpdateError.newElementsExist
                }
                try db.execute(sql: "INSERT INTO config (name, value, version) VALUES (?, ?, ?)", arguments: [element.name, element.value, version])
                sections.insert(DynamicConfig.section(of: element.name))
            }
            for element in request.existingElements {
                try db.execute(sql: "UPDATE config SET value = ?, version = ? WHERE name = ? AND version = ?",
                               arguments: [element.value, max(version, element.version.microseconds + 1), element.name, element.version.microseconds])
                if db.changesCount != 1 { throw ConfigUpdateError.concurrentlyUpdated }
                sections.insert(DynamicConfig.section(of: element.name))
            }
            for element in request.deletedElements {
                try db.execute(sql: "DELETE FROM config WHERE name = ? AND version = ?", arguments: [element.name, element.version.microseconds])
                if db.changesCount != 1 { throw ConfigUpdateError.concurrentlyUpdated }
                sections.insert(DynamicConfig.section(of: element.name))
            }
            return sections
        }
    }
}
