/// One schema step for PostgreSQL. Steps run in `version` order, each in its own transaction
/// together with its row in `schema_migrations`: PostgreSQL's DDL is transactional, so a crash
/// or a failing step leaves the schema at a whole version.
public struct PostgresMigration: Sendable {
    public let version: Int
    public let name: String
    public let apply: @Sendable (PostgresConnection) throws -> Void

    public init(version: Int, name: String, apply: @escaping @Sendable (PostgresConnection) throws -> Void) {
        self.version = version
        self.name = name
        self.apply = apply
    }

    /// A step that runs a fixed SQL script.
    public init(version: Int, name: String, sql: String) {
        self.init(version: version, name: name) { try $0.executeScript(sql) }
    }
}

extension PostgresPool {
    /// The advisory lock key of `migrate` ("ecd_mig" in ASCII): one per database, shared by every
    /// node, so only one of them migrates at a time.
    public static let migrationLockKey: Int64 = 0x65_63_64_5F_6D_69_67

    /// The newest version applied, 0 for a database never migrated.
    public func schemaVersion() throws -> Int {
        try read { connection in
            guard try connection.queryOne("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")?
                .get("present") as Bool? == true else { return 0 }
            return try Self.currentVersion(connection)
        }
    }

    /// Applies, in order, every step above the database's version. Safe when several nodes run it
    /// at once: each step's transaction first takes `pg_advisory_xact_lock(lockKey)` and re-reads
    /// the version under it, so a step runs exactly once and the others wait, then find it done.
    /// The lock is a transaction lock: a node killed mid-step releases it with its connection,
    /// and its step is rolled back. Throws when versions are not unique and positive, or when the
    /// database is newer than the newest step (a downgrade this program cannot understand).
    public func migrate(_ migrations: [PostgresMigration], lockKey: Int64 = migrationLockKey) throws {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (index, migration) in sorted.enumerated() where migration.version <= 0
            || (index > 0 && sorted[index - 1].version == migration.version) {
            throw PostgresError.misuse("migration versions must be unique and positive (\(migration.version))")
        }
        let newest = sorted.last?.version ?? 0
        // The bookkeeping table, under the lock too: concurrent CREATE TABLE IF NOT EXISTS can
        // still collide in the catalog.
        let current = try write { connection -> Int in
            try connection.execute("SELECT pg_advisory_xact_lock($1)", [lockKey])
            try connection.executeScript("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at BIGINT NOT NULL
                )
                """)
            return try Self.currentVersion(connection)
        }
        guard current <= newest else {
            throw PostgresError.misuse("database schema version \(current) is newer than this program's \(newest)")
        }
        for migration in sorted where migration.version > current {
            try write { connection in
                try connection.execute("SELECT pg_advisory_xact_lock($1)", [lockKey])
                guard try Self.currentVersion(connection) < migration.version else { return }
                try migration.apply(connection)
                try connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
                    [migration.version, migration.name])
            }
        }
    }

    private static func currentVersion(_ connection: PostgresConnection) throws -> Int {
        try connection.queryOne("SELECT COALESCE(MAX(version), 0)::bigint AS version FROM schema_migrations")?
            .get("version") ?? 0
    }
}
