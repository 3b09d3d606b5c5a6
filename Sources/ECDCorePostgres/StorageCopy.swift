import ECDPostgres
import ECDSQLite
import FoundationEssentials

/// The copy behind `ecd migrate-storage`: every row of every table of a SQLite database into an
/// empty PostgreSQL database, unchanged (ids, times, ciphertext), in one PostgreSQL transaction,
/// so the target ends with the whole copy or nothing.
///
/// The caller holds the SQLite database's lock (no daemon writes meanwhile). The copy refuses a
/// source not at `CorePostgresSchema.sqliteVersion`, a target whose migrated shape differs from
/// the source's (a table it could not copy), and a target that holds any row beyond the fresh
/// schema's own (`webhook_cursor` at 0). It verifies the row count of every table before COMMIT.
public enum StorageCopy {
    /// Rows per INSERT: few round trips, far below PostgreSQL's 65,535 parameters per statement.
    static let batchRows = 100

    public struct TableCount: Sendable, Equatable {
        public let table: String
        public let source: Int
        public let target: Int
    }

    public static func run(from source: Database, to pool: PostgresPool) throws(StorageCopyError) -> [TableCount] {
        do {
            let version = try source.userVersion
            guard version == CorePostgresSchema.sqliteVersion else {
                throw StorageCopyError.sourceVersion(found: version, expected: CorePostgresSchema.sqliteVersion)
            }
            try CorePostgresSchema.migrate(pool)
            let sourceShape = try source.read { try SchemaShape.read(sqlite: $0) }
            let targetShape = try pool.read { try SchemaShape.read(postgres: $0) }
            let differences = sourceShape.differences(from: targetShape, names: ("the SQLite database", "PostgreSQL"))
            guard differences.isEmpty else { throw StorageCopyError.shapeMismatch(differences) }
            return try pool.write { target in
                try source.read { sqlite in try copy(sqlite, into: target, shape: sourceShape) }
            }
        } catch let error as StorageCopyError {
            throw error
        } catch let error as PostgresError {
            throw .postgres(error)
        } catch {
            throw .sqlite("\(error)")
        }
    }

    private static func copy(_ sqlite: ECDSQLite.Connection, into target: PostgresConnection,
                             shape: SchemaShape) throws -> [TableCount] {
        let tables = CorePostgresSchema.tables
        // No other session writes (or reads a half copy of) these tables until COMMIT.
        try target.executeScript("LOCK TABLE \(tables.joined(separator: ", ")) IN ACCESS EXCLUSIVE MODE")
        try requireEmpty(target, tables: tables)
        try target.execute("DELETE FROM webhook_cursor")
        // The counting triggers would cost a PL/pgSQL call per secret; the counts are checked
        // below with one query instead. Transactional: a rollback re-enables them.
        let counted = CorePostgresTriggers.columnsByTable.map(\.table)
        for table in counted { try target.executeScript("ALTER TABLE \(table) DISABLE TRIGGER USER") }
        for table in tables where table != "secret_key_counts" {
            try copyRows(of: table, columns: shape.tables[table]?.columns.map(\.name) ?? [], from: sqlite, into: target)
        }
        try copySecretCounts(from: sqlite, into: target)
        for table in counted { try target.executeScript("ALTER TABLE \(table) ENABLE TRIGGER USER") }
        try moveSequences(sqlite, target)
        var counts: [TableCount] = []
        for table in tables {
            let source = try sqlite.queryOne("SELECT count(*) AS n FROM \(table)")?.get("n") as Int? ?? -1
            let copied = try target.queryOne("SELECT count(*) AS n FROM \(table)")?.get("n") as Int? ?? -1
            counts.append(TableCount(table: table, source: source, target: copied))
        }
        if let wrong = counts.first(where: { $0.source != $0.target }) {
            throw StorageCopyError.countMismatch(wrong)
        }
        return counts
    }

    /// A fresh schema holds one row: `webhook_cursor` (1, 0). Anything else is someone's data.
    private static func requireEmpty(_ target: PostgresConnection, tables: [String]) throws {
        var occupied: [String] = []
        for table in tables {
            let rows = try target.queryOne("SELECT count(*) AS n FROM \(table)")?.get("n") as Int? ?? 0
            if table == "webhook_cursor" {
                let fresh = try target.queryOne("SELECT count(*) AS n FROM webhook_cursor WHERE id = 1 AND last_event_id = 0")?
                    .get("n") as Int? ?? 0
                if rows != 1 || fresh != 1 { occupied.append("webhook_cursor (not at its initial row)") }
            } else if rows > 0 {
                occupied.append("\(table) (\(rows) row\(rows == 1 ? "" : "s"))")
            }
        }
        guard occupied.isEmpty else { throw StorageCopyError.targetNotEmpty(occupied) }
    }

    /// Rows in the source's row order, `batchRows` per INSERT. Identity columns take the source's
    /// ids (`OVERRIDING SYSTEM VALUE`; a no-op for tables without one).
    private static func copyRows(of table: String, columns: [String], from sqlite: ECDSQLite.Connection,
                                 into target: PostgresConnection) throws {
        guard !columns.isEmpty else { return }
        let list = columns.map { "\"\($0)\"" }.joined(separator: ", ")
        var batch: [PostgresValue] = []
        var rows = 0
        func flush() throws {
            guard rows > 0 else { return }
            let tuples = (0..<rows).map { row in
                "(" + (1...columns.count).map { "$\(row * columns.count + $0)" }.joined(separator: ", ") + ")"
            }
            try target.execute("INSERT INTO \(table) (\(list)) OVERRIDING SYSTEM VALUE VALUES \(tuples.joined(separator: ", "))", batch)
            batch.removeAll(keepingCapacity: true)
            rows = 0
        }
        let order = table == "secret_key_counts" ? "key_id" : "rowid"
        try sqlite.iterate("SELECT \(list) FROM \(table) ORDER BY \(order)") { row in
            batch.append(contentsOf: row.values.map(postgresValue))
            rows += 1
            if rows == batchRows { try flush() }
        }
        try flush()
    }

    /// The secrets of the copied rows, counted per key id by the triggers' own function, must
    /// agree with the source's counts (SQLite's triggers counted every write); then the source's
    /// rows are copied verbatim, so keys whose count fell to zero are kept as SQLite keeps them.
    private static func copySecretCounts(from sqlite: ECDSQLite.Connection, into target: PostgresConnection) throws {
        let sourceCounts = try Dictionary(uniqueKeysWithValues: sqlite.query(
            "SELECT key_id, secrets FROM secret_key_counts WHERE secrets <> 0").map { (try $0.get("key_id") as String, try $0.get("secrets") as Int) })
        let everySecret = CorePostgresTriggers.columnsByTable.flatMap { table, columns in
            columns.map { "SELECT ecd_secret_key_id(\($0)) AS key_id FROM \(table) WHERE \($0) IS NOT NULL" }
        }.joined(separator: " UNION ALL ")
        let counted = try Dictionary(uniqueKeysWithValues: target.query(
            "SELECT key_id, count(*)::bigint AS secrets FROM (\(everySecret)) AS secrets GROUP BY key_id")
            .map { (try $0.get("key_id") as String, try $0.get("secrets") as Int) })
        guard sourceCounts == counted else {
            let keys = Set(sourceCounts.keys).union(counted.keys).filter { sourceCounts[$0] != counted[$0] }.sorted()
            throw StorageCopyError.secretCountsDisagree(keys.map {
                "key \($0): secret_key_counts says \(sourceCounts[$0] ?? 0), the copied rows hold \(counted[$0] ?? 0)"
            })
        }
        try target.execute("DELETE FROM secret_key_counts")
        try copyRows(of: "secret_key_counts", columns: ["key_id", "secrets"], from: sqlite, into: target)
    }

    /// Each identity sequence continues after the highest id copied, and for an AUTOINCREMENT
    /// table after the highest id SQLite ever gave (`sqlite_sequence`): events deleted by the
    /// retention prune keep their ids used, so the webhook cursor never sees an id twice.
    private static func moveSequences(_ sqlite: ECDSQLite.Connection, _ target: PostgresConnection) throws {
        var used: [String: Int64] = [:]
        if try sqlite.queryOne("SELECT 1 AS present FROM sqlite_master WHERE name = 'sqlite_sequence'") != nil {
            for row in try sqlite.query("SELECT name, seq FROM sqlite_sequence") {
                used[try row.get("name")] = row.optional("seq") as Int64?
            }
        }
        let identities = try target.query("""
            SELECT table_name::text AS name, column_name::text AS id FROM information_schema.columns
            WHERE table_schema = current_schema() AND is_identity = 'YES'
            """)
        for identity in identities {
            let table: String = try identity.get("name")
            let column: String = try identity.get("id")
            let highest = try target.queryOne("SELECT COALESCE(MAX(\"\(column)\"), 0)::bigint AS n FROM \(table)")?.get("n") as Int64? ?? 0
            let next = max(highest, used[table] ?? 0)
            if next > 0 {
                try target.execute("SELECT setval(pg_get_serial_sequence($1, $2), $3, true)", [table, column, next])
            } else {
                try target.execute("SELECT setval(pg_get_serial_sequence($1, $2), 1, false)", [table, column])
            }
        }
    }

    private static func postgresValue(_ value: SQLValue) -> PostgresValue {
        switch value {
        case .null: .null
        case .integer(let int): .integer(int)
        case .real(let double): .real(double)
        case .text(let text): .text(text)
        case .blob(let bytes): .bytes(bytes)
        }
    }
}

/// Why a copy was refused or failed; the target is unchanged in every case (one transaction).
public enum StorageCopyError: Error, Sendable, CustomStringConvertible {
    case sourceVersion(found: Int, expected: Int)
    case shapeMismatch([String])
    case targetNotEmpty([String])
    case secretCountsDisagree([String])
    case countMismatch(StorageCopy.TableCount)
    case postgres(PostgresError)
    case sqlite(String)

    /// Not `error.description`: its SQL may be a 100-row INSERT; its start names the table.
    static func describe(_ error: PostgresError) -> String {
        var text = "PostgreSQL"
        if let state = error.sqlState { text += " " + state }
        text += ": " + error.message
        if let sql = error.sql {
            text += " (in " + (sql.count > 60 ? String(sql.prefix(60)) + "…" : sql) + ")"
        }
        return text
    }

    public var description: String {
        switch self {
        case .sourceVersion(let found, let expected) where found == 0:
            "the SQLite database has no ecd schema (user_version 0); expected version \(expected)"
        case .sourceVersion(let found, let expected) where found < expected:
            "the SQLite database is at schema version \(found), this ecd copies version \(expected): run `ecd migrate` on it first"
        case .sourceVersion(let found, let expected):
            "the SQLite database is at schema version \(found), newer than this ecd's \(expected): use the ecd that wrote it"
        case .shapeMismatch(let lines):
            "the SQLite database's tables differ from the PostgreSQL schema: " + lines.joined(separator: "; ")
        case .targetNotEmpty(let tables):
            "the PostgreSQL database is not empty: " + tables.joined(separator: ", ") + "; copy into a new, empty database"
        case .secretCountsDisagree(let lines):
            "the SQLite database's secret_key_counts disagree with its rows: " + lines.joined(separator: "; ")
        case .countMismatch(let count):
            "\(count.table): \(count.source) rows in SQLite but \(count.target) copied; nothing was committed"
        case .postgres(let error):
            Self.describe(error)
        case .sqlite(let message):
            message
        }
    }
}
