import ECDCorePostgres
import ECDPostgres
import Foundation
import Testing

/// `ecd migrate` on every node of a cluster at once: one schema, no error anywhere.
@Suite("Core schema: concurrent migrations")
struct ConcurrentMigrationTests {
    @Test func fourNodesMigratingOneEmptyDatabaseAtOnceMakeOneSchema() throws {
        let server = try SharedPostgres.server.get()
        let database = try server.makeDatabase()
        let pools = (0..<4).map { _ in PostgresPool(configuration(server, database: database, poolSize: 1)) }
        defer { pools.forEach { $0.close() } }
        // Every node connected before the start, so none gets a head start by connecting first.
        for pool in pools { _ = try pool.read { try $0.query("SELECT 1") } }
        // The real steps, each holding its transaction open a moment longer so that the nodes
        // certainly overlap (the schema alone commits in milliseconds, before the others start).
        let steps = CorePostgresSchema.migrations.map { step in
            PostgresMigration(version: step.version, name: step.name) { connection in
                try step.apply(connection)
                _ = try connection.query("SELECT pg_sleep(0.5)")
            }
        }
        let errors = LockedBox<[String]>([])
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for pool in pools {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                start.wait()
                do { try pool.migrate(steps) } catch { errors.value.append("\(error)") }
            }
        }
        for _ in pools { start.signal() }
        group.wait()
        #expect(errors.value.isEmpty, "\(errors.value)")
        try pools[0].read { connection in
            let versions = try connection.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.get("version") as Int }
            #expect(versions == CorePostgresSchema.migrations.map(\.version))
            // The version-1 seed row once, not once per node.
            #expect(try connection.queryOne("SELECT count(*) AS n FROM webhook_cursor")?.get("n") as Int64? == 1)
            let triggers = try connection.queryOne("SELECT count(*) AS n FROM pg_trigger WHERE NOT tgisinternal")?.get("n") as Int64?
            // The secret counts' nine, plus the grant notifications', each once.
            #expect(triggers == Int64(9 + CorePostgresSchema.postgresOnlyTriggers.count))
        }
        for pool in pools { #expect(try pool.schemaVersion() == CorePostgresSchema.migrations.count) }
        // Again on a current database: nothing to do, no error.
        try CorePostgresSchema.migrate(pools[3])
    }
}
