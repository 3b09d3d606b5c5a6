import ECDSync
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One daemon per SQLite database: an exclusive `flock` on `PATH.lock`, a file next to the
/// database holding the holder's pid, taken before the database is opened or migrated and held
/// until the process closes it (or dies: the kernel drops a `flock` with the last descriptor, so a
/// daemon killed with SIGKILL leaves no stale lock behind, only a stale pid in the file).
///
/// Why a lock file of its own rather than a lock on the database: SQLite takes POSIX (`fcntl`)
/// locks on the database file, and a POSIX lock is released when the process closes *any*
/// descriptor of that file; `flock` on a separate file cannot interfere with either.
///
/// `serve` and `migrate` take it; `backup` does not (it reads a consistent copy of
/// the live database, which is what it is for).
final class DatabaseLock: Sendable {
    /// The lock file: the database's path (symbolic links resolved) with `.lock` appended.
    let path: String
    let databasePath: String
    /// Closed by `release()` (or `deinit`); the kernel drops the lock with it.
    private let descriptor: Locked<Int32>

    private init(path: String, databasePath: String, descriptor: Int32) {
        self.path = path
        self.databasePath = databasePath
        self.descriptor = Locked(descriptor)
    }

    deinit { release() }

    /// Takes the lock for the database at `databasePath` without waiting: throws `.inUse` naming
    /// the holder's pid when another process (or another `DatabaseLock` of this one) has it.
    /// Creates the database's folder when missing, as opening the database would.
    static func acquire(databasePath: String) throws(DatabaseLockError) -> DatabaseLock {
        let lockPath = lockFilePath(for: databasePath)
        let folder = (lockPath as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
        }
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .cannotOpen(lockPath, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            defer { close(fd) }
            guard code == EWOULDBLOCK else { throw .cannotOpen(lockPath, errno: code) }
            throw .inUse(databasePath, pid: holderPID(fd))
        }
        // Ours: replace whatever pid a previous (dead) holder left.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return DatabaseLock(path: lockPath, databasePath: databasePath, descriptor: fd)
    }

    /// Drops the lock (the file stays: removing it could race a process that just opened it and
    /// would then hold a lock on a deleted file while a third process locks a new one).
    func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            close(fd)
            fd = -1
        }
    }

    static func lockFilePath(for databasePath: String) -> String {
        // Two spellings of one database (relative, absolute, through a symlink) share one lock.
        let url = URL(fileURLWithPath: databasePath).standardizedFileURL
        let resolved = FileManager.default.fileExists(atPath: url.path)
            ? url.resolvingSymlinksInPath()
            : url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent)
        return resolved.path + ".lock"
    }

    /// The pid the holder wrote. It writes right after locking, so an empty file means "just
    /// taken": look again for a moment before giving up on naming it.
    private static func holderPID(_ fd: Int32) -> Int32? {
        for _ in 0..<20 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            if count > 0, let pid = Int32(String(decoding: buffer[0..<count], as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 {
                return pid
            }
            usleep(5_000)
        }
        return nil
    }
}

/// Why the database lock could not be taken.
enum DatabaseLockError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another ecd process holds the database.
    case inUse(String, pid: Int32?)
    case cannotOpen(String, errno: Int32)

    var description: String {
        switch self {
        case .inUse(let path, let pid):
            "database \(path) is in use by ecd (\(pid.map { "pid \($0)" } ?? "pid unknown"))"
        case .cannotOpen(let path, let code):
            "cannot lock \(path): \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}
