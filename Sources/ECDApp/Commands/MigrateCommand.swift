import ArgumentParser
import ECDCore
import ECDCorePostgres
import ECDPostgres
import ECDSQLite
import Foundation

/// `ecd migrate`: create or upgrade the database schema, then exit.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the database schema (storage.path, or storage.postgres.url) and exit.",
        discussion: """
            Migrations are ordered and idempotent; running it on a current database changes nothing. \
            On PostgreSQL any number of nodes may run it (or start) at once: each step runs once, \
            under an advisory lock, and the others wait for it.
            """)

    @OptionGroup var config: ConfigOptions

    func run() throws {
        let configuration = try config.load(mode: .database)
        if let postgres = configuration.storage.postgres {
            try Self.migrate(postgres)
            return
        }
        let path = configuration.storage.path
        let version: Int
        // A running daemon migrated its database at start; changing the schema under it is not
        // this command's business.
        let lock: DatabaseLock
        do {
            lock = try DatabaseLock.acquire(databasePath: path)
        } catch {
            throw CommandFailure("\(error)")
        }
        defer { lock.release() }
        do {
            let database = try Database(path: path)
            defer { database.close() }
            let before = try database.userVersion
            try CoreSchema.migrate(database)
            version = try database.userVersion
            StandardStreams.out(before == version
                ? "\(path): schema already at version \(version)"
                : "\(path): schema migrated from version \(before) to \(version)")
        } catch {
            throw CommandFailure("cannot migrate \(path): \(error)")
        }
    }

    static func migrate(_ settings: PostgresSettings) throws {
        let url = settings.url
        let pool = PostgresPool(PostgresConfiguration(url: url.url, poolSize: 1, borrowTimeout: .seconds(30),
                                                      statementTimeout: .seconds(120), applicationName: "ecd migrate"))
        defer { pool.close() }
        do {
            let before = try pool.schemaVersion()
            try CorePostgresSchema.migrate(pool)
            let after = try pool.schemaVersion()
            StandardStreams.out(before == after
                ? "\(url.redacted): schema already at version \(after)"
                : "\(url.redacted): schema migrated from version \(before) to \(after)")
        } catch {
            // libpq's and the server's messages name host and user; the scrub is for anything else.
            throw CommandFailure(url.scrub("cannot migrate \(url.redacted): \(error)"))
        }
    }
}
