import ECDCSQLite
import FoundationEssentials
import ECDText
import Glibc

/// The one place where connection policy lives: file permissions, open flags, PRAGMAs.
enum DatabasePolicy {
    static func open(path: String, busyTimeout: Duration) throws -> OpaquePointer {
        let isFile = path != ":memory:" && !path.isEmpty && !path.hasPrefix("file:")
        if isFile { try FilePermissions.prepareDatabaseFile(at: path) }

        var pointer: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
            | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW
        let code = sqlite3_open_v2(path, &pointer, flags, nil)
        guard code == SQLITE_OK, let pointer else {
            let error = SQLiteError.current(pointer, code: code, sql: nil)
            sqlite3_close(pointer)   // open may allocate a handle even when it fails
            throw error
        }
        do {
            try configure(pointer, busyTimeout: busyTimeout, expectWAL: isFile)
            if isFile { try FilePermissions.restrictCompanions(of: path) }
        } catch {
            sqlite3_close(pointer)
            throw error
        }
        return pointer
    }

    private static func configure(_ db: OpaquePointer, busyTimeout: Duration, expectWAL: Bool) throws {
        sqlite3_extended_result_codes(db, 1)
        let milliseconds = busyTimeout.components.seconds * 1000
            + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(db, Int32(clamping: milliseconds))

        // Reading the schema makes a file that is not a database fail here (SQLITE_NOTADB), at
        // open, rather than at the first query.
        try run(db, "SELECT count(*) FROM sqlite_master")

        // WAL: readers do not block the writer; with synchronous=FULL every COMMIT is on disk
        // (WAL fsync'd) before it returns, which the crash test relies on.
        let mode = try run(db, "PRAGMA journal_mode = WAL")
        if expectWAL, mode?.lowercased() != "wal" {
            throw SQLiteError(code: SQLITE_ERROR, message: "could not enable WAL (journal_mode is \(mode ?? "?"))",
                              sql: "PRAGMA journal_mode = WAL")
        }
        try run(db, "PRAGMA synchronous = FULL")
        try run(db, "PRAGMA foreign_keys = ON")
        // Deleted rows may hold (encrypted) secrets: overwrite their content instead of leaving it in free pages.
        try run(db, "PRAGMA secure_delete = ON")
    }

    /// Runs one statement to completion and returns the first column of the first row as text.
    @discardableResult
    static func run(_ db: OpaquePointer, _ sql: String) throws -> String? {
        var tail = ""
        guard let statement = try Statement.prepare(db, sql: sql, tail: &tail) else { return nil }
        var first: String?
        if try statement.step() {
            switch statement.row()[0] {
            case .text(let text): first = text
            case .integer(let int): first = String(int)
            default: break
            }
            while try statement.step() {}
        }
        return first
    }
}

/// Owner-only permissions for the database file, its WAL/SHM companions and a created folder.
enum FilePermissions {
    static let fileMode: mode_t = 0o600
    static let directoryMode: mode_t = 0o700

    /// Creates missing parent folders 0700 and the file 0600 before SQLite opens it, and tightens
    /// an existing file to 0600. Existing folders are left alone (they may be shared, like /tmp).
    static func prepareDatabaseFile(at path: String) throws {
        try createDirectories(for: path)
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, fileMode)
        guard fd >= 0 else { throw failure("cannot create database file", path: path) }
        defer { Glibc.close(fd) }
        guard fchmod(fd, fileMode) == 0 else { throw failure("cannot set mode 0600 on database file", path: path) }
    }

    /// SQLite gives -wal/-shm the database file's mode; enforce it anyway in case they predate us.
    static func restrictCompanions(of path: String) throws {
        for suffix in ["-wal", "-shm", "-journal"] {
            let companion = path + suffix
            if chmod(companion, fileMode) != 0, errno != ENOENT {
                throw failure("cannot set mode 0600 on \(suffix) file", path: companion)
            }
        }
    }

    static func createDirectories(for path: String) throws {
        let folder = FilePath.parent(of: path)
        guard !folder.isEmpty else { return }
        var missing: [String] = []
        var current = folder
        while !current.isEmpty, current != "/", access(current, F_OK) != 0 {
            missing.append(current)
            current = FilePath.parent(of: current)
        }
        for directory in missing.reversed() {
            if mkdir(directory, directoryMode) != 0, errno != EEXIST {
                throw failure("cannot create database folder", path: directory)
            }
            // mkdir applies the umask; make the mode exact.
            _ = chmod(directory, directoryMode)
        }
    }

    private static func failure(_ what: String, path: String) -> SQLiteError {
        let reason = String(cString: strerror(errno))
        return SQLiteError(code: SQLITE_CANTOPEN, message: "\(what) \(path): \(reason)", sql: nil)
    }
}
