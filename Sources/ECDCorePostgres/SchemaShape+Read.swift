import ECDPostgres
import ECDSQLite

extension SchemaShape {
    /// The shape of a SQLite database (its own tables, not `sqlite_*`). A `PRIMARY KEY` column
    /// counts as NOT NULL: SQLite enforces it only for `INTEGER PRIMARY KEY` (a historic quirk),
    /// but ecd never stores a NULL key and PostgreSQL refuses one.
    public static func read(sqlite connection: ECDSQLite.Connection) throws -> SchemaShape {
        var tables: [String: Table] = [:]
        var primaryKeys: [String: [String]] = [:]
        let names = try connection.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'")
            .map { try $0.get("name") as String }
        for name in names {
            let columnRows = try connection.query(
                "SELECT name, type, \"notnull\" AS not_null, dflt_value, pk FROM pragma_table_info(?) ORDER BY cid", [name])
            var columns: [Column] = []
            var primaryKey: [(Int, String)] = []
            for row in columnRows {
                let column: String = try row.get("name")
                let pk: Int = try row.get("pk")
                if pk > 0 { primaryKey.append((pk, column)) }
                columns.append(Column(name: column, family: sqliteFamily(try row.get("type")),
                                      notNull: (try row.get("not_null") as Int) == 1 || pk > 0,
                                      defaultValue: row.optional("dflt_value") as String?))
            }
            var keys: Set<[String]> = []
            if !primaryKey.isEmpty {
                primaryKeys[name] = primaryKey.sorted { $0.0 < $1.0 }.map(\.1)
                keys.insert(primaryKeys[name]!)
            }
            var indexes: Set<Index> = []
            for row in try connection.query("SELECT name, \"unique\" AS is_unique, partial FROM pragma_index_list(?)", [name]) {
                let index: String = try row.get("name")
                let indexColumns = try connection.query("SELECT name FROM pragma_index_info(?) ORDER BY seqno", [index])
                    .map { try $0.get("name") as String }
                let unique = (try row.get("is_unique") as Int) == 1
                let partial = (try row.get("partial") as Int) == 1
                if unique, !partial {
                    keys.insert(indexColumns)
                } else {
                    indexes.insert(Index(name: index, columns: indexColumns, unique: unique, partial: partial))
                }
            }
            var foreignKeys: [Int: ForeignKey] = [:]
            for row in try connection.query(
                "SELECT id, \"table\" AS target, \"from\" AS source, \"to\" AS referenced FROM pragma_foreign_key_list(?) ORDER BY id, seq",
                [name]) {
                let id: Int = try row.get("id")
                let target: String = try row.get("target")
                var key = foreignKeys[id] ?? ForeignKey(columns: [], table: target, referencedColumns: [])
                key.columns.append(try row.get("source"))
                // No column named: the referenced table's primary key (resolved below).
                key.referencedColumns.append((row.optional("referenced") as String?) ?? "")
                foreignKeys[id] = key
            }
            let triggers = try connection.query("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", [name])
                .map { try $0.get("name") as String }
            tables[name] = Table(name: name, columns: columns, keys: keys, indexes: indexes,
                                 foreignKeys: Set(foreignKeys.values), triggers: Set(triggers))
        }
        // A foreign key that names no column references the primary key.
        for (name, table) in tables {
            tables[name]?.foreignKeys = Set(table.foreignKeys.map { key in
                guard key.referencedColumns.contains(""), let primary = primaryKeys[key.table] else { return key }
                return ForeignKey(columns: key.columns, table: key.table, referencedColumns: primary)
            })
        }
        return SchemaShape(tables: tables)
    }

    /// The shape of the PostgreSQL database's current schema, without `schema_migrations`
    /// (PostgreSQL's stand-in for SQLite's `PRAGMA user_version`) and the tables only PostgreSQL
    /// has (`CorePostgresSchema.postgresOnlyTables`).
    public static func read(postgres connection: PostgresConnection) throws -> SchemaShape {
        var tables: [String: Table] = [:]
        let names = try connection.query("""
            SELECT table_name::text AS name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
            """).map { try $0.get("name") as String }
            .filter { !CorePostgresSchema.postgresOnlyTables.contains($0) }
        let inSchema = "t.relnamespace = current_schema()::text::regnamespace"
        for name in names {
            let columns = try connection.query("""
                SELECT column_name::text AS name, data_type::text AS type, is_nullable::text AS nullable,
                       column_default::text AS default_value
                FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position
                """, [name]).map { row in
                Column(name: try row.get("name"), family: postgresFamily(try row.get("type")),
                       notNull: (try row.get("nullable") as String) == "NO",
                       defaultValue: (row.optional("default_value") as String?).map(withoutCast))
            }
            var keys: Set<[String]> = []
            var indexes: Set<Index> = []
            for row in try connection.query("""
                SELECT i.relname::text AS name, x.indisunique AS is_unique, x.indpred IS NOT NULL AS partial,
                       array_to_string(ARRAY(
                           SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                           JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.n), ',') AS columns
                FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
                WHERE t.relname = $1 AND \(inSchema)
                """, [name]) {
                let indexColumns = (try row.get("columns") as String).split(separator: ",").map(String.init)
                let unique: Bool = try row.get("is_unique")
                let partial: Bool = try row.get("partial")
                if unique, !partial {
                    keys.insert(indexColumns)
                } else {
                    indexes.insert(Index(name: try row.get("name"), columns: indexColumns, unique: unique, partial: partial))
                }
            }
            let foreignKeys = try connection.query("""
                SELECT f.relname::text AS target,
                       array_to_string(ARRAY(
                           SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
                           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.n), ',') AS source,
                       array_to_string(ARRAY(
                           SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, n)
                           JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.n), ',') AS referenced
                FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class f ON f.oid = c.confrelid
                WHERE c.contype = 'f' AND t.relname = $1 AND \(inSchema)
                """, [name]).map { row in
                ForeignKey(columns: (try row.get("source") as String).split(separator: ",").map(String.init),
                           table: try row.get("target"),
                           referencedColumns: (try row.get("referenced") as String).split(separator: ",").map(String.init))
            }
            let triggers = try connection.query("""
                SELECT g.tgname::text AS name FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
                WHERE NOT g.tgisinternal AND t.relname = $1 AND \(inSchema)
                """, [name]).map { try $0.get("name") as String }
                .filter { !CorePostgresSchema.postgresOnlyTriggers.contains($0) }
            tables[name] = Table(name: name, columns: columns, keys: keys, indexes: indexes,
                                 foreignKeys: Set(foreignKeys), triggers: Set(triggers))
        }
        return SchemaShape(tables: tables)
    }

    /// SQLite's affinity rules (datatype3.html §3.1), in their order.
    static func sqliteFamily(_ declared: String) -> TypeFamily {
        let type = declared.uppercased()
        if type.contains("INT") { return .integer }
        if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") { return .text }
        if type.contains("BLOB") || type.isEmpty { return .bytes }
        if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") { return .real }
        return .other(declared.lowercased())
    }

    static func postgresFamily(_ dataType: String) -> TypeFamily {
        switch dataType {
        case "bigint", "integer", "smallint": .integer
        case "text", "character varying", "character": .text
        case "bytea": .bytes
        case "double precision", "real": .real
        case "boolean": .boolean
        default: .other(dataType)
        }
    }

    /// `'x'::text` → `'x'`, `0` → `0`.
    static func withoutCast(_ expression: String) -> String {
        guard let range = expression.ranges(of: "::").last, !expression[range.upperBound...].contains("'") else {
            return expression
        }
        return String(expression[..<range.lowerBound])
    }
}
