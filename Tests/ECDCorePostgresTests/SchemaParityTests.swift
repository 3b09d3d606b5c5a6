import ECDCore
import ECDCorePostgres
import ECDPostgres
import ECDSQLite
import Foundation
import Testing

/// The PostgreSQL schema is the SQLite schema in another dialect: a SQLite migration that lands
/// without its PostgreSQL step (or the reverse) fails here.
@Suite("Core schema: SQLite and PostgreSQL alike")
struct SchemaParityTests {
    @Test func freshSchemasHaveTheSameShape() throws {
        let sqlite = try FreshSQLite()
        let pool = try freshPool()
        defer { pool.close() }
        try CorePostgresSchema.migrate(pool)
        let sqliteShape = try sqlite.database.read { try SchemaShape.read(sqlite: $0) }
        let postgresShape = try pool.read { try SchemaShape.read(postgres: $0) }
        let differences = sqliteShape.differences(from: postgresShape, names: ("SQLite", "PostgreSQL"))
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        // Not vacuous: the shapes hold what the flows use.
        #expect(sqliteShape.tables.count == 9)
        #expect((sqliteShape.tables["accounts"]?.columns.count ?? 0) > 40)
        #expect(sqliteShape.tables["accounts"]?.triggers.count == 3)
        #expect(Set(CorePostgresSchema.tables) == Set(postgresShape.tables.keys))
    }

    @Test func thePostgresSchemaMatchesSQLitesNewestVersion() throws {
        #expect(CoreSchema.migrations.map(\.version).max() == CorePostgresSchema.sqliteVersion,
                "a SQLite migration landed without its PostgreSQL step (CorePostgresSchema)")
        let sqlite = try FreshSQLite()
        #expect(try sqlite.database.userVersion == CorePostgresSchema.sqliteVersion)
    }

    /// The targets of the flows' `INSERT … ON CONFLICT(…)` and the keys their lookups and the
    /// callback intake's duplicate check rely on: PostgreSQL refuses an ON CONFLICT without a
    /// unique index on exactly those columns.
    @Test func theConflictTargetsOfTheFlowsAreUniqueKeys() throws {
        let pool = try freshPool()
        defer { pool.close() }
        try CorePostgresSchema.migrate(pool)
        let shape = try pool.read { try SchemaShape.read(postgres: $0) }
        let expected: [(String, [String])] = [
            ("accounts", ["email_key"]), ("accounts", ["request_id"]), ("accounts", ["id"]),
            ("service_accounts", ["id"]), ("secret_key_counts", ["key_id"]),
            ("callback_inbox", ["request_id", "content_hash"]), ("callback_inbox", ["id"]),
            ("connect_links", ["token_hash"]), ("oauth_states", ["state_hash"]), ("events", ["id"]),
            ("webhook_cursor", ["id"]),
        ]
        for (table, columns) in expected {
            #expect(shape.tables[table]?.keys.contains(columns) == true, "\(table)(\(columns))")
        }
        // And PostgreSQL takes them as conflict targets.
        try pool.write { connection in
            try connection.execute("""
                INSERT INTO service_accounts (id, status, scope, delegated_scope, connected_at, updated_at)
                VALUES ('ser_1', 'active', 's', 'd', 1, 1)
                ON CONFLICT(id) DO UPDATE SET email = COALESCE(excluded.email, service_accounts.email)
                """)
            try connection.execute("""
                INSERT INTO accounts (email, email_key, status, scope, updated_at) VALUES ('A@x', 'a@x', 'pending', 's', 1)
                ON CONFLICT(email_key) DO UPDATE SET status = excluded.status
                """)
        }
    }

    /// The comparison itself: a column dropped on either side, a changed nullability, type or
    /// default, a missing index or trigger are each reported.
    @Test func theComparisonSeesADroppedColumnOnEitherSide() throws {
        let sqlite = try FreshSQLite()
        let pool = try freshPool()
        defer { pool.close() }
        try CorePostgresSchema.migrate(pool)
        func differences() throws -> [String] {
            let left = try sqlite.database.read { try SchemaShape.read(sqlite: $0) }
            let right = try pool.read { try SchemaShape.read(postgres: $0) }
            return left.differences(from: right, names: ("SQLite", "PostgreSQL"))
        }
        try #require(try differences().isEmpty)

        try sqlite.database.write { try $0.execute("ALTER TABLE accounts DROP COLUMN renewal_error") }
        #expect(try differences() == ["accounts.renewal_error: only in PostgreSQL"])
        try pool.write { try $0.execute("ALTER TABLE accounts DROP COLUMN renewal_error") }
        let afterBoth = try differences()
        #expect(afterBoth.isEmpty, "\(afterBoth)")

        try pool.write { try $0.execute("ALTER TABLE events DROP COLUMN email") }
        #expect(try differences() == ["events.email: only in SQLite"])
        try sqlite.database.write { try $0.execute("ALTER TABLE events DROP COLUMN email") }
        #expect(try differences().isEmpty)
        // Added back on one side, it comes last: the copy names columns, but the order is checked too.
        try pool.write { try $0.executeScript("ALTER TABLE events DROP COLUMN type; ALTER TABLE events ADD COLUMN type TEXT NOT NULL") }
        #expect(try differences() == ["events: columns in another order"])

        try pool.write { connection in
            try connection.execute("ALTER TABLE connect_links ALTER COLUMN label SET NOT NULL")
            try connection.execute("ALTER TABLE connect_links ALTER COLUMN used_at TYPE TEXT")
            try connection.execute("ALTER TABLE accounts ALTER COLUMN at_risk SET DEFAULT 1")
            try connection.execute("DROP INDEX accounts_by_expiry")
            try connection.execute("ALTER TABLE accounts DROP CONSTRAINT accounts_email_key_key")
            try connection.execute("DROP TRIGGER secret_keys_callback_inbox_update ON callback_inbox")
        }
        let reported = try differences().joined(separator: "\n")
        for expected in ["connect_links.label: nullable in SQLite, NOT NULL in PostgreSQL",
                         "connect_links.used_at: integer in SQLite, text in PostgreSQL",
                         "accounts.at_risk: default 0 in SQLite, 1 in PostgreSQL",
                         "accounts: index accounts_by_expiry(expires_at) partial only in SQLite",
                         "accounts: unique key (email_key) only in SQLite",
                         "callback_inbox: trigger secret_keys_callback_inbox_update only in SQLite"] {
            #expect(reported.contains(expected), "missing: \(expected)\nin: \(reported)")
        }
    }
}
