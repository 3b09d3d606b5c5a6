import ECDCore
import ECDCorePostgres
import ECDPostgres
import ECDTestSupport
import Foundation

/// The driver a test runs the core on: the core's tests that go through storage take it as an
/// argument (`@Test(arguments: StorageDriver.allCases)`), so every behaviour is checked on both
/// drivers and cannot drift between them (issue 16 item 2).
enum StorageDriver: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    var description: String { rawValue }
}

/// One PostgreSQL server per test process (started on first use, stopped at exit) and a
/// template database migrated once: each test's database is a `CREATE DATABASE … TEMPLATE` copy
/// of it (a file copy on the server, milliseconds), as fresh as a new SQLite file.
enum CorePostgresFixture {
    static let templateName = "ecd_core_template"

    static let server: Result<PostgresTestServer, any Error> = {
        let result = Result { () throws -> PostgresTestServer in
            let server = try PostgresTestServer.start()
            try server.execute("CREATE DATABASE \(templateName)")
            let pool = PostgresPool(configuration(server, database: templateName, poolSize: 1))
            defer { pool.close() }
            try CorePostgresSchema.migrate(pool)
            return server
        }
        // Swift Testing has no end-of-run hook; the process exits through exit(3).
        atexit { if case .success(let server) = CorePostgresFixture.server { server.destroy() } }
        return result
    }()

    /// A database of its own for one test, already migrated; its name.
    static func makeDatabase() throws -> (PostgresTestServer, String) {
        let server = try server.get()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try server.execute("CREATE DATABASE \(name) TEMPLATE \(templateName)")
        return (server, name)
    }

    /// Pools of 3: the suites run side by side (each serialized), and the server takes 60
    /// connections.
    static func configuration(_ server: PostgresTestServer, database: String, poolSize: Int = 3) -> PostgresConfiguration {
        PostgresConfiguration(url: server.url(database: database), poolSize: poolSize, borrowTimeout: .seconds(20),
                              connectTimeout: .seconds(5), statementTimeout: .seconds(30))
    }
}

/// Where a `Harness` keeps its data: a SQLite file in its folder, or a database of its own on
/// the shared PostgreSQL server.
enum StorageFixture: Sendable {
    case sqlite
    case postgres(server: PostgresTestServer, database: String)

    init(_ driver: StorageDriver) throws {
        switch driver {
        case .sqlite: self = .sqlite
        case .postgres:
            let (server, database) = try CorePostgresFixture.makeDatabase()
            self = .postgres(server: server, database: database)
        }
    }

    var driver: StorageDriver {
        if case .postgres = self { return .postgres }
        return .sqlite
    }

    /// A new pool on the test's PostgreSQL database, migrated as `serve` does at every start.
    func postgresPool() throws -> PostgresPool? {
        guard case .postgres(let server, let database) = self else { return nil }
        let pool = PostgresPool(CorePostgresFixture.configuration(server, database: database))
        try CorePostgresSchema.migrate(pool)
        return pool
    }

    /// Drops the test's database (its pools closed first).
    func destroy() {
        guard case .postgres(let server, let database) = self else { return }
        try? server.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }
}
