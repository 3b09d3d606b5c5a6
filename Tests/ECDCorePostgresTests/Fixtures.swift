import ECDCore
import ECDPostgres
import ECDSQLite
import ECDTestSupport
import Foundation

/// One server shared by this target's tests, started on first use and stopped when the test
/// process exits; each test gets a database of its own on it.
enum SharedPostgres {
    static let server: Result<PostgresTestServer, Error> = {
        let result = Result { try PostgresTestServer.start() }
        // Swift Testing has no end-of-run hook; the process exits through exit(3).
        atexit { if case .success(let server) = SharedPostgres.server { server.destroy() } }
        return result
    }()
}

/// A pool on a fresh, empty database of the shared server.
func freshPool(poolSize: Int = 2) throws -> PostgresPool {
    let server = try SharedPostgres.server.get()
    return PostgresPool(configuration(server, database: try server.makeDatabase(), poolSize: poolSize))
}

func configuration(_ server: PostgresTestServer, database: String, poolSize: Int = 2) -> PostgresConfiguration {
    PostgresConfiguration(url: server.url(database: database), poolSize: poolSize, borrowTimeout: .seconds(20),
                          connectTimeout: .seconds(5), statementTimeout: .seconds(30))
}

/// A SQLite database migrated by ECDCore's own migrations, in a folder of its own.
final class FreshSQLite {
    let folder: URL
    let database: Database

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ecd-corepg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        database = try Database(path: folder.appendingPathComponent("ecd.sqlite").path)
        try CoreSchema.migrate(database)
    }

    deinit {
        database.close()
        try? FileManager.default.removeItem(at: folder)
    }
}

final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
