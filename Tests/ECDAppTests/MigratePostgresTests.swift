import ECDCorePostgres
import ECDPostgres
import ECDSimulator
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp

/// `ecd migrate` with `storage.driver` `postgres`: the real binary against a real PostgreSQL.
@Suite("ecd migrate on PostgreSQL")
struct MigratePostgresTests {
    /// Nodes of a cluster start together and each runs `ecd migrate` (the unit's ExecStartPre):
    /// every run succeeds, the schema ends at the newest version, created once.
    @Test func severalNodesMigrateOneDatabaseAtOnce() async throws {
        let server = try AppTestPostgres.server.get()
        let database = try server.makeDatabase()
        let environment = ["ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL": server.url(database: database)]
        let runs = try await withThrowingTaskGroup(of: ECDBinary.Result.self) { group in
            for _ in 0..<3 { group.addTask { try await ECDBinary.run(["migrate"], environment: environment) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let newest = CorePostgresSchema.migrations.map(\.version).max() ?? 0
        for run in runs {
            #expect(run.code == 0, "\(run.stderr)")
            #expect(run.stdout.contains("postgresql://ecd@127.0.0.1:\(server.port)/\(database): schema "), "\(run.stdout)")
        }
        let pool = PostgresPool(PostgresConfiguration(url: server.url(database: database), poolSize: 1))
        defer { pool.close() }
        #expect(try pool.schemaVersion() == newest)
        let again = try await ECDBinary.run(["migrate"], environment: environment)
        #expect(again.stdout.contains("schema already at version \(newest)"), "\(again.stdout)")
    }

    /// A server that refuses the login: the command fails, naming the target without its password.
    @Test func aFailedMigrationNeverPrintsThePassword() async throws {
        let server = try AppTestPostgres.server.get()
        let password = "pw-Lk28-never-printed"
        let url = "postgresql://nobody_h5:\(password)@127.0.0.1:\(server.port)/absent_db"
        let run = try await ECDBinary.run(["migrate"], environment: [
            "ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL": url,
        ])
        #expect(run.code == 1)
        #expect(run.stderr.contains("cannot migrate postgresql://nobody_h5:***@127.0.0.1:\(server.port)/absent_db"), "\(run.stderr)")
        #expect(!(run.stdout + run.stderr).contains("Lk28"))
    }

    /// `ecd serve` on PostgreSQL (issue 16): migrates the database, makes no SQLite file nor lock,
    /// is ready once its grant feed listens, and keeps what it is given in PostgreSQL.
    @Test func serveRunsOnPostgres() async throws {
        let server = try AppTestPostgres.server.get()
        let name = try server.makeDatabase()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let simulator = try CronofySimulator.startedForTests()
        let sqlitePath = folder.url.appendingPathComponent("db/ecd.sqlite").path
        let node = try await ServeProcess.start(
            folder: folder, database: sqlitePath, simulator: simulator,
            extra: ["ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL": server.url(database: name),
                    "ECD_AUDIT_PATH": folder.url.appendingPathComponent("audit.log").path],
            without: ["ECD_STORAGE_PATH"])
        #expect(await eventually { (try? await node.internalAPI("GET", "/readyz", json: nil).status) == 200 })
        let link = try await node.internalAPI("POST", "/v1/service-accounts/connect-links", json: #"{"label":"pg"}"#)
        #expect(link.status == 201)
        let pool = PostgresPool(PostgresConfiguration(url: server.url(database: name), poolSize: 1))
        defer { pool.close() }
        #expect(try pool.schemaVersion() == CorePostgresSchema.migrations.count)
        let links = try pool.read { try $0.queryOne("SELECT count(*) AS n FROM connect_links")?.get("n") as Int64? }
        #expect(links == 1)
        #expect(!FileManager.default.fileExists(atPath: sqlitePath))
        #expect(!FileManager.default.fileExists(atPath: sqlitePath + ".lock"))
        #expect(await node.stop() == 0)
        await simulator.shutdown()
    }

    @Test func backupRefusesPostgres() async throws {
        let run = try await ECDBinary.run(["backup", "--to", "/tmp/never-written.sqlite"], environment: [
            "ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL": "postgresql://ecd@127.0.0.1:1/ecd",
        ])
        #expect(run.code == 1)
        #expect(run.stderr.contains("pg_dump"), "\(run.stderr)")
    }
}
