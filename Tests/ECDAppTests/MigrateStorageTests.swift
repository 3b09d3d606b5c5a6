import ECDCorePostgres
import ECDPostgres
import ECDSQLite
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp

/// One PostgreSQL server for this target's tests, stopped when the test process exits.
enum AppTestPostgres {
    static let server: Result<PostgresTestServer, Error> = {
        let result = Result { try PostgresTestServer.start() }
        atexit { if case .success(let server) = AppTestPostgres.server { server.destroy() } }
        return result
    }()
}

/// `ecd migrate-storage`: a SQLite database written by the daemon's own flows, copied into a real
/// PostgreSQL by the real binary, compared row by row.
@Suite("ecd migrate-storage")
struct MigrateStorageTests {
    static let password = "pw-Hx93-never-printed"

    /// Every row of every core table, in key order, as PostgreSQL values.
    static func rows(sqlite path: String) throws -> [String: [[PostgresValue]]] {
        let database = try Database(path: path)
        defer { database.close() }
        return try database.read { connection in
            var all: [String: [[PostgresValue]]] = [:]
            for table in CorePostgresSchema.tables {
                all[table] = try connection.query("SELECT * FROM \(table) ORDER BY \(orderKey(table))").map { row in
                    row.values.map { value -> PostgresValue in
                        switch value {
                        case .null: .null
                        case .integer(let int): .integer(int)
                        case .real(let double): .real(double)
                        case .text(let text): .text(text)
                        case .blob(let bytes): .bytes(bytes)
                        }
                    }
                }
            }
            return all
        }
    }

    static func rows(postgres pool: PostgresPool) throws -> [String: [[PostgresValue]]] {
        try pool.read { connection in
            var all: [String: [[PostgresValue]]] = [:]
            for table in CorePostgresSchema.tables {
                all[table] = try connection.query("SELECT * FROM \(table) ORDER BY \(orderKey(table))").map(\.values)
            }
            return all
        }
    }

    static func orderKey(_ table: String) -> String {
        switch table {
        case "connect_links": "token_hash"
        case "oauth_states": "state_hash"
        case "secret_key_counts": "key_id"
        case "cluster_leases": "name"
        default: "id"
        }
    }

    @Test("copies a database the flows wrote, ciphertext and ids unchanged; refuses to copy twice")
    func copiesEveryRow() async throws {
        let server = try AppTestPostgres.server.get()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let source = folder.url.appendingPathComponent("ecd.sqlite").path
        let emails = ["alice@example.com", "bob@example.com", "carol@example.com"]
        try await TestDaemon.run { daemon in
            _ = try await daemon.connectServiceAccount()
            let statuses = try await daemon.requestAndSettle(emails)
            #expect(statuses.values.allSatisfy { $0 == "active" }, "\(statuses)")
            // A token read, so last-used marks and the audit of the flows are in the rows too.
            #expect(try await daemon.internalAPI("GET", "/v1/accounts/alice@example.com/token", json: nil).status == 200)
            let live = try Database(path: daemon.folder.appendingPathComponent("ecd.sqlite").path)
            defer { live.close() }
            try live.backup(to: source)
        }
        // The retention prune deleted the newest event: its id stays used.
        let deletedEvent: Int64 = try {
            let database = try Database(path: source)
            defer { database.close() }
            return try database.write { connection in
                let newest: Int64 = try connection.queryOne("SELECT MAX(id) AS id FROM events")?.get("id") ?? 0
                try connection.execute("DELETE FROM events WHERE id = ?", [newest])
                return newest
            }
        }()
        #expect(deletedEvent > 0)
        let before = try Self.rows(sqlite: source)
        let tokens: [[UInt8]] = try {
            let database = try Database(path: source)
            defer { database.close() }
            return try database.read { connection in
                try connection.query("SELECT access_token FROM accounts ORDER BY id").compactMap { $0.optional("access_token") as [UInt8]? }
            }
        }()
        #expect(tokens.count == emails.count)

        let database = try server.makeDatabase()
        let url = "postgresql://ecd:\(Self.password)@127.0.0.1:\(server.port)/\(database)"
        let targetFile = try folder.write("target", "postgres:\(url)\n")
        let result = try await ECDBinary.run(["migrate-storage", "--from", "sqlite:\(source)", "--to-file", targetFile])
        #expect(result.code == 0, "\(result.stderr)")
        #expect(!(result.stdout + result.stderr).contains(Self.password))
        #expect(result.stdout.contains("to postgresql://ecd:***@127.0.0.1:\(server.port)/\(database) in "))
        #expect(result.stdout.contains("every table's row count verified"))
        let accountsLine = result.stdout.split(separator: "\n").first { $0.hasPrefix("accounts ") }
        #expect(accountsLine?.split(separator: " ", omittingEmptySubsequences: true) == ["accounts", "3", "3"])

        let pool = PostgresPool(PostgresConfiguration(url: server.url(database: database), poolSize: 1))
        defer { pool.close() }
        let after = try Self.rows(postgres: pool)
        for table in CorePostgresSchema.tables {
            #expect(after[table] == before[table], "\(table) differs")
            // cluster_leases: a live lease exists only while a job runs (and a sole SQLite process clears them).
            #expect(!(before[table] ?? []).isEmpty || table == "secret_key_counts" || table == "cluster_leases",
                    "\(table) was empty: the copy proves little")
        }
        // The secrets, byte for byte.
        let copiedTokens = try pool.read { connection in
            try connection.query("SELECT access_token FROM accounts ORDER BY id").compactMap { $0.optional("access_token") as [UInt8]? }
        }
        #expect(copiedTokens == tokens)
        // New rows continue after every id SQLite used, the pruned event's included.
        try pool.write { connection in
            let event: Int64 = try connection.queryOne(
                "INSERT INTO events (type, at, data) VALUES ('probe', 1, '{}') RETURNING id")?.get("id") ?? 0
            #expect(event == deletedEvent + 1)
            let account: Int64 = try connection.queryOne(
                "INSERT INTO accounts (email, email_key, status, scope, updated_at) VALUES ('n', 'n', 'pending', 's', 1) RETURNING id")?.get("id") ?? 0
            #expect(account == Int64(emails.count + 1))
        }

        // Again into the same database, the URL from the environment: refused, nothing changed.
        let again = try await ECDBinary.run(["migrate-storage", "--from", "sqlite:\(source)"],
                                            environment: ["ECD_MIGRATE_STORAGE_TO": "postgres:\(url)"])
        #expect(again.code == 1)
        #expect(again.stderr.contains("the PostgreSQL database is not empty: service_accounts (1 row), accounts (4 rows)"),
                "\(again.stderr)")
        #expect(!(again.stdout + again.stderr).contains(Self.password))
        #expect(try pool.read { try $0.queryOne("SELECT count(*) AS n FROM accounts")?.get("n") as Int? } == 4)
    }

    @Test("bad arguments, a missing file, an unreachable server, a locked or foreign database: precise errors")
    func refusals() async throws {
        let server = try AppTestPostgres.server.get()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let good = "postgres:postgresql://ecd:\(Self.password)@127.0.0.1:\(server.port)/postgres"
        let missing = folder.url.appendingPathComponent("missing.sqlite").path
        let source = folder.url.appendingPathComponent("ecd.sqlite").path
        let migrated = try await ECDBinary.run(["migrate"], environment: ["ECD_STORAGE_PATH": source])
        try #require(migrated.code == 0, "\(migrated.stderr)")

        func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> ECDBinary.Result {
            let result = try await ECDBinary.run(["migrate-storage"] + arguments, environment: environment)
            #expect(!(result.stdout + result.stderr).contains(Self.password), "\(arguments)")
            return result
        }
        func expect(_ result: ECDBinary.Result, _ code: Int32, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(result.code == code, "\(result.stderr)", sourceLocation: sourceLocation)
            #expect(result.stderr.contains(message), "\(result.stderr)", sourceLocation: sourceLocation)
        }

        expect(try await run(["--from", missing, "--to", good]), 2, "ecd: --from must be sqlite:PATH")
        expect(try await run(["--from", "sqlite:\(missing)", "--to", good]), 1, "ecd: no SQLite database at \(missing)")
        expect(try await run(["--from", "sqlite:\(source)"]), 2,
               "ecd: needs the target: --to postgres:URL, --to-file PATH or ECD_MIGRATE_STORAGE_TO")
        expect(try await run(["--from", "sqlite:\(source)", "--to", good, "--to-file", source]), 2,
               "ecd: give the target once: --to or --to-file")
        expect(try await run(["--from", "sqlite:\(source)", "--to", "mysql://root:\(Self.password)@db/ecd"]), 2,
               "ecd: --to must be postgres:URL, where the URL is not a postgresql:// URL")
        expect(try await run(["--from", "sqlite:\(source)", "--to", "postgres:postgresql://ecd:\(Self.password)@127.0.0.1/x?no_such_option=1"]), 2,
               "ecd: --to must be postgres:URL, where the URL is not a valid PostgreSQL URL")
        expect(try await run(["--from", "sqlite:\(source)"], environment: ["ECD_MIGRATE_STORAGE_TO": "postgres:nonsense"]), 2,
               "ecd: ECD_MIGRATE_STORAGE_TO must be postgres:URL")
        expect(try await run(["--from", "sqlite:\(source)", "--to-file", missing]), 1, "ecd: cannot read --to-file \(missing)")
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        expect(try await run(["--from", "sqlite:\(source)", "--to", "postgres:postgresql://ecd:\(Self.password)@127.0.0.1:1/ecd"]), 1,
               "ecd: cannot reach PostgreSQL at postgresql://ecd:***@127.0.0.1:1/ecd: ")

        // A daemon holds the database.
        do {
            let lock = try DatabaseLock.acquire(databasePath: source)
            defer { lock.release() }
            expect(try await run(["--from", "sqlite:\(source)", "--to", good]), 1,
                   "ecd: database \(source) is in use by ecd (pid \(getpid())): stop it before copying its database")
        }
        // Counts that disagree with the rows (a tool wrote behind the triggers' back): refused,
        // and the one transaction leaves the target as it was (schema, no rows).
        let tampered = try Database(path: source)
        try await tampered.asyncWrite { connection in
            try connection.execute("""
                INSERT INTO service_accounts (id, status, scope, delegated_scope, connected_at, updated_at, access_token)
                VALUES ('ser_1', 'active', 's', 'd', 1, 1, ?)
                """, [[UInt8]([1, 2]) + Array("k1".utf8) + [UInt8](repeating: 7, count: 40)])
            try connection.execute("UPDATE secret_key_counts SET secrets = secrets + 1")
        }
        tampered.close()
        let database = try server.makeDatabase()
        expect(try await run(["--from", "sqlite:\(source)", "--to", "postgres:\(server.url(database: database))"]), 1,
               "the SQLite database's secret_key_counts disagree with its rows: key k1: secret_key_counts says 2, the copied rows hold 1")
        let pool = PostgresPool(PostgresConfiguration(url: server.url(database: database), poolSize: 1))
        defer { pool.close() }
        #expect(try pool.read { try $0.queryOne("SELECT count(*) AS n FROM service_accounts")?.get("n") as Int? } == 0)
        #expect(try pool.read { try $0.queryOne("SELECT last_event_id FROM webhook_cursor")?.get("last_event_id") as Int? } == 0)

        // A SQLite file that is not ecd's.
        let foreign = folder.url.appendingPathComponent("foreign.sqlite").path
        try Database(path: foreign).close()
        expect(try await run(["--from", "sqlite:\(foreign)", "--to", good]), 1,
               "the SQLite database has no ecd schema (user_version 0); expected version \(CorePostgresSchema.sqliteVersion)")
    }
}
