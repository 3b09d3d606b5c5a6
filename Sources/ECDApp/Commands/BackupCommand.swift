import ArgumentParser
import ECDSQLite
import Foundation

/// `ecd backup --to PATH`: a consistent copy of the live database.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the live database consistently (SQLite online backup), even while the daemon runs.",
        discussion: "Tokens in the copy stay encrypted: keep a copy of the keyring separately.")

    @OptionGroup var config: ConfigOptions
    @Option(help: ArgumentHelp("Where to write the copy (created with mode 0600; replaced if it exists).", valueName: "path"))
    var to: String

    func run() throws {
        let configuration = try config.load(mode: .database)
        guard configuration.storage.driver == .sqlite else {
            throw CommandFailure("storage.driver is \"postgres\": back it up with PostgreSQL's own tools "
                + "(pg_dump, or the server's continuous archiving); this command copies a SQLite database")
        }
        let source = configuration.storage.path
        guard FileManager.default.fileExists(atPath: source) else {
            throw CommandFailure("no database at \(source) (storage.path)")
        }
        let sourceURL = URL(fileURLWithPath: source).standardizedFileURL.resolvingSymlinksInPath()
        let targetURL = URL(fileURLWithPath: to).standardizedFileURL.resolvingSymlinksInPath()
        guard sourceURL.path != targetURL.path else {
            throw CommandFailure("--to names the live database itself (\(source))")
        }
        do {
            let database = try Database(path: source)
            defer { database.close() }
            try database.backup(to: to)
        } catch {
            throw CommandFailure("cannot back up \(source) to \(to): \(error)")
        }
        StandardStreams.out("\(source) copied to \(to)")
    }
}
