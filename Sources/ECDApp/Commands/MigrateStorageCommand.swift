import ArgumentParser
import ECDCorePostgres
import ECDPostgres
import ECDSQLite
import Foundation

/// `ecd migrate-storage --from sqlite:PATH --to postgres:URL`: copies a SQLite deployment's
/// database into an empty PostgreSQL database (every row, ciphertext and ids unchanged): the
/// move of a SQLite deployment to the PostgreSQL storage driver (issue 16).
struct MigrateStorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-storage",
        abstract: "Copy a SQLite database into an empty PostgreSQL database, every row unchanged.",
        discussion: """
            The SQLite database is locked as `ecd serve` locks it, so no daemon may run on it meanwhile. \
            The PostgreSQL schema is created or upgraded first; a target holding any data is refused. \
            Rows are copied in one transaction and counted per table before it commits. The URL may \
            come from --to, --to-file or \(Self.environmentKey), so a password need not be on the \
            command line; it is never printed.
            """)

    static let environmentKey = "ECD_MIGRATE_STORAGE_TO"

    @Option(help: ArgumentHelp("The SQLite database to copy.", valueName: "sqlite:path"))
    var from: String

    @Option(help: ArgumentHelp("The PostgreSQL database to copy into.", valueName: "postgres:url"))
    var to: String?

    @Option(name: .customLong("to-file"),
            help: ArgumentHelp("A file whose first line is the target (postgres:URL).", valueName: "path"))
    var toFile: String?

    func run() throws {
        let sourcePath = try Self.sourcePath(from)
        let target = try Self.target(to: to, toFile: toFile, environment: ProcessInfo.processInfo.environment)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: sourcePath, isDirectory: &isFolder), !isFolder.boolValue else {
            throw CommandFailure("no SQLite database at \(sourcePath)")
        }
        let lock: DatabaseLock
        do {
            lock = try DatabaseLock.acquire(databasePath: sourcePath)
        } catch {
            throw CommandFailure("\(error): stop it before copying its database")
        }
        defer { lock.release() }
        let source: Database
        do {
            source = try Database(path: sourcePath)
        } catch {
            throw CommandFailure("cannot open \(sourcePath): \(error)")
        }
        defer { source.close() }
        let pool = PostgresPool(PostgresConfiguration(
            url: target.url, poolSize: 1, borrowTimeout: .seconds(30), connectTimeout: .seconds(10),
            statementTimeout: .seconds(120), applicationName: "ecd migrate-storage"))
        defer { pool.close() }
        let started = ContinuousClock.now
        let counts: [StorageCopy.TableCount]
        do {
            counts = try StorageCopy.run(from: source, to: pool)
        } catch {
            if case .postgres(let failure) = error, failure.kind == .unavailable {
                throw CommandFailure(target.scrub("cannot reach PostgreSQL at \(target.redacted): \(failure.message)"))
            }
            throw CommandFailure(target.scrub("cannot copy \(sourcePath) to \(target.redacted): \(error)"))
        }
        let elapsed = ContinuousClock.now - started
        var table = TableOutput(["TABLE", "SQLITE", "POSTGRESQL"])
        for count in counts { table.add([count.table, String(count.source), String(count.target)]) }
        table.add(["total", String(counts.map(\.source).reduce(0, +)), String(counts.map(\.target).reduce(0, +))])
        StandardStreams.out(table.rendered)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        StandardStreams.out("copied \(sourcePath) to \(target.redacted) in \(String(format: "%.1f", seconds)) s; "
            + "every table's row count verified")
    }

    /// `sqlite:PATH` → PATH.
    static func sourcePath(_ argument: String) throws -> String {
        guard argument.hasPrefix("sqlite:"), argument.count > "sqlite:".count else {
            throw CommandFailure("--from must be sqlite:PATH", exitCode: ECDCommandLine.usageCode)
        }
        return String(argument.dropFirst("sqlite:".count))
    }

    /// The target from exactly one of --to, --to-file and the environment. `postgres:` before the
    /// URL may be left out (a `postgres://` URL already says what it is).
    static func target(to: String?, toFile: String?, environment: [String: String]) throws -> PostgresURL {
        let given: (value: String, origin: String)
        switch (to, toFile) {
        case (.some, .some):
            throw CommandFailure("give the target once: --to or --to-file", exitCode: ECDCommandLine.usageCode)
        case (.some(let value), nil):
            given = (value, "--to")
        case (nil, .some(let path)):
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw CommandFailure("cannot read --to-file \(path): \((error as NSError).localizedDescription)")
            }
            let line = text.split(whereSeparator: \.isNewline).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            guard !line.isEmpty else { throw CommandFailure("--to-file \(path) is empty") }
            given = (line, "--to-file \(path)")
        case (nil, nil):
            guard let value = environment[environmentKey], !value.isEmpty else {
                throw CommandFailure("needs the target: --to postgres:URL, --to-file PATH or \(environmentKey)",
                                     exitCode: ECDCommandLine.usageCode)
            }
            given = (value, environmentKey)
        }
        var url = given.value
        if url.hasPrefix("postgres:postgres") { url.removeFirst("postgres:".count) }
        do {
            return try PostgresURL(parsing: url)
        } catch {
            // Never the value itself: it may hold a password.
            throw CommandFailure("\(given.origin) must be postgres:URL, where the URL \(error)",
                                 exitCode: ECDCommandLine.usageCode)
        }
    }
}
