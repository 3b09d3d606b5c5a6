import ECDCorePostgres
import ECDPostgres
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

    /// Until the daemon runs on PostgreSQL, `serve` with it stops at once, before any listener or
    /// SQLite file: a node that served from a local file would split the cluster silently.
    @Test func serveRefusesPostgresUntilItIsWired() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var environment = DaemonEnvironment.make(folder)
        environment["ECD_STORAGE_PATH"] = nil
        environment["ECD_STORAGE_DRIVER"] = "postgres"
        environment["ECD_STORAGE_POSTGRES_URL"] = "postgresql://ecd:pw-Rt51@127.0.0.1:1/ecd"
        let run = try await ECDBinary.run(["serve"], environment: environment, directory: folder.url, limit: .seconds(60))
        #expect(run.code == 1)
        #expect(run.stderr.contains(#"storage.driver \"postgres\": ecd serve cannot run on it yet"#), "\(run.stderr)")
        #expect(!run.stderr.contains("Rt51"))
        #expect(!FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("data").path))
    }

    @Test func backupRefusesPostgres() async throws {
        let run = try await ECDBinary.run(["backup", "--to", "/tmp/never-written.sqlite"], environment: [
            "ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL": "postgresql://ecd@127.0.0.1:1/ecd",
        ])
        #expect(run.code == 1)
        #expect(run.stderr.contains("pg_dump"), "\(run.stderr)")
    }
}
