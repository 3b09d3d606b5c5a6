import ArgumentParser
import ECDCore
import ECDSQLite
import Foundation

/// `ecd migrate`: create or upgrade the database schema, then exit.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the database schema (storage.path) and exit.",
        discussion: "Migrations are ordered and idempotent; running it on a current database changes nothing.")

    @OptionGroup var config: ConfigOptions

    func run() throws {
        let configuration = try config.load(mode: .database)
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
}
