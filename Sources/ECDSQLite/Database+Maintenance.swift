import ECDCSQLite
import FoundationEssentials
import Glibc

extension Database {
    /// `PRAGMA user_version`: the last migration applied.
    public var userVersion: Int {
        get throws {
            try read { try Self.userVersion($0) }
        }
    }

    /// Applies, in order, every migration whose version is above `user_version`. Each runs in its
    /// own IMMEDIATE transaction that re-reads `user_version` first, so two processes migrating
    /// at once cannot apply a step twice, and running it again is a no-op.
    /// Throws when versions are not unique and positive, or when the database is newer than the
    /// newest migration (a downgrade this program cannot understand).
    public func migrate(_ migrations: [Migration]) throws {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (index, migration) in sorted.enumerated() where migration.version <= 0
            || (index > 0 && sorted[index - 1].version == migration.version) {
            throw SQLiteError.misuse("migration versions must be unique and positive (\(migration.version))", sql: nil)
        }
        let newest = sorted.last?.version ?? 0
        let current = try userVersion
        guard current <= newest else {
            throw SQLiteError(code: SQLITE_ERROR,
                              message: "database schema version \(current) is newer than this program's \(newest)",
                              sql: nil)
        }
        for migration in sorted where migration.version > current {
            try write { connection in
                guard try Self.userVersion(connection) < migration.version else { return }
                try migration.apply(connection)
                try connection.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }

    /// `PRAGMA integrity_check`: `["ok"]` when the database is sound, else SQLite's findings.
    public func integrityCheck() throws -> [String] {
        try read { connection in
            try connection.query("PRAGMA integrity_check").map { row in
                if case .text(let text) = row[0] { return text }
                return "\(row[0])"
            }
        }
    }

    /// Copies the whole database to `path` with SQLite's online backup API (a consistent
    /// snapshot; the source stays usable). The copy is created 0600; an existing file is replaced.
    public func backup(to path: String) throws {
        try onQueue { handle in
            try FilePermissions.prepareDatabaseFile(at: path)
            var destination: OpaquePointer?
            let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
            let openCode = sqlite3_open_v2(path, &destination, flags, nil)
            defer { sqlite3_close(destination) }
            guard openCode == SQLITE_OK, let destination else {
                throw SQLiteError.current(destination, code: openCode, sql: nil)
            }
            guard let backup = sqlite3_backup_init(destination, "main", handle.db, "main") else {
                throw SQLiteError.current(destination, code: sqlite3_errcode(destination), sql: nil)
            }
            var step = sqlite3_backup_step(backup, -1)
            while step == SQLITE_BUSY || step == SQLITE_LOCKED {
                usleep(10_000)
                step = sqlite3_backup_step(backup, -1)
            }
            let finish = sqlite3_backup_finish(backup)
            guard step == SQLITE_DONE, finish == SQLITE_OK else {
                let code = step == SQLITE_DONE ? finish : step
                throw SQLiteError.current(destination, code: code, sql: nil)
            }
            try FilePermissions.restrictCompanions(of: path)
        }
    }

    static func userVersion(_ connection: Connection) throws -> Int {
        guard let row = try connection.queryOne("PRAGMA user_version"), case .integer(let version) = row[0] else {
            return 0
        }
        return Int(version)
    }
}
