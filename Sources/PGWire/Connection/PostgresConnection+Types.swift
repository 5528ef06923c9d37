extension PostgresConnection {
    /// Resolves a user-defined type (enum, composite, domain, ...) by name, e.g. `"mood"` or
    /// `"myschema.point3d"`. OIDs are specific to a database, so types are looked up per connection.
    public func lookupType(_ name: String) async throws -> PostgresTypeInfo {
        let base = try await execute("""
            SELECT t.oid, t.typtype::text, t.typarray, t.typname::text FROM pg_catalog.pg_type t WHERE t.oid = \(name)::text::regtype
            """)
        guard let row = base.rows.first else { throw PostgresError.misuse("type \(name) not found") }
        let (oid, typtype, arrayOID, typname) = try row.decode((UInt32, String, UInt32, String).self)
        let kind: PostgresTypeInfo.Kind
        switch typtype {
        case "e":
            let labels = try await execute("SELECT enumlabel::text FROM pg_catalog.pg_enum WHERE enumtypid = \(oid) ORDER BY enumsortorder")
            kind = .enumeration(labels: try labels.rows.map { try $0.decode(column: 0, as: String.self) })
        case "c":
            let attrs = try await execute("""
                SELECT a.attname::text, a.atttypid FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON a.attrelid = t.typrelid
                WHERE t.oid = \(oid) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
                """)
            kind = .composite(fields: try attrs.rows.map {
                let (n, t) = try $0.decode((String, UInt32).self)
                return PostgresTypeInfo.Field(name: n, type: PostgresDataType(t))
            })
        default:
            kind = .other(typtype: typtype)
        }
        return PostgresTypeInfo(name: typname, oid: PostgresDataType(oid), arrayOID: PostgresDataType(arrayOID), kind: kind)
    }
}
