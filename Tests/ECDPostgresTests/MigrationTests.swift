import ECDPostgres
import ECDTestSupport
import Foundation
import Testing

@Suite("PostgreSQL migrations")
struct MigrationTests {
    /// Steps that fail or double their effect when run twice: a plain CREATE TABLE, an INSERT,
    /// and a pause that makes two runners overlap.
    static let steps: [PostgresMigration] = [
        PostgresMigration(version: 1, name: "table") { connection in
            try connection.executeScript("CREATE TABLE items (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note TEXT)")
            _ = try connection.query("SELECT pg_sleep(1)")
        },
        PostgresMigration(version: 2, name: "seed", sql: "INSERT INTO items (note) VALUES ('seeded once')"),
        PostgresMigration(version: 3, name: "column", sql: "ALTER TABLE items ADD COLUMN flag INTEGER NOT NULL DEFAULT 0"),
    ]

    @Test func twoNodesMigratingAtOnceApplyEachStepOnce() throws {
        let server = try SharedPostgres.server.get()
        let database = try server.makeDatabase()
        // Two pools: two nodes, each with its own connections.
        let pools = (0..<2).map { _ in PostgresPool(testConfiguration(server, database: database, poolSize: 1)) }
        defer { pools.forEach { $0.close() } }
        // Both connected before the start, so that neither gets a head start by connecting first.
        for pool in pools { _ = try pool.read { try $0.query("SELECT 1") } }
        let errors = LockedBox<[String]>([])
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for pool in pools {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                start.wait()
                do { try pool.migrate(Self.steps) } catch { errors.value.append("\(error)") }
            }
        }
        start.signal()
        start.signal()
        group.wait()
        #expect(errors.value.isEmpty, "\(errors.value)")
        let (versions, seeded) = try pools[0].read { connection in
            (try connection.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.get("version") as Int },
             try connection.queryOne("SELECT count(*) AS n FROM items")?.get("n") as Int64?)
        }
        #expect(versions == [1, 2, 3])
        #expect(seeded == 1)
        #expect(try pools[1].schemaVersion() == 3)
        // Running again is a no-op.
        try pools[1].migrate(Self.steps)
        let after = try pools[0].read { try $0.queryOne("SELECT count(*) AS n FROM items")?.get("n") as Int64? }
        #expect(after == 1)
    }

    @Test func aFailingStepLeavesTheSchemaAtTheLastWholeVersion() throws {
        try withPool { pool, _ in
            let broken = Self.steps + [PostgresMigration(version: 4, name: "broken",
                                                         sql: "ALTER TABLE items ADD COLUMN extra TEXT; SELECT no_such_function()")]
            let error = expectPostgresError { try pool.migrate(broken) }
            #expect(error?.kind == .server)
            #expect(try pool.schemaVersion() == 3)
            // The failed step's first statement was rolled back with it.
            let columns = try pool.read {
                try $0.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'extra'")
            }
            #expect(columns.isEmpty)
        }
    }

    @Test func aDatabaseNewerThanTheProgramIsRefused() throws {
        try withPool { pool, _ in
            try pool.migrate(Self.steps)
            let error = expectPostgresError { try pool.migrate(Array(Self.steps.prefix(2))) }
            #expect(error?.kind == .misuse)
            #expect(error?.message.contains("newer") == true)
        }
    }
}
