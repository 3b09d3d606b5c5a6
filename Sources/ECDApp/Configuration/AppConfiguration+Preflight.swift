#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension AppConfiguration {
    /// What would stop `serve` although every value is well formed: checked by `check-config` and
    /// before `serve` starts, so the operator hears it from the configuration check rather than as
    /// an SQLite error from a daemon already half started. Each line names its key.
    func preflightProblems() -> [String] {
        // PostgreSQL is checked by connecting, which `serve` does first thing: a configuration
        // check stays an offline look at the values.
        storage.driver == .sqlite ? storageProblems() : []
    }

    /// The database's folder must take new files: SQLite creates the database, its `-wal` and
    /// `-shm` files there. A missing folder is created by `serve` (mode 0700), so then the nearest
    /// folder that exists must take it. Tried with a real file, since `access(2)` answers yes to
    /// root whatever the folder is (`/proc`).
    func storageProblems() -> [String] {
        let key = origins["storage.path"].flatMap { origin -> String? in
            if case .environment(let variable) = origin { return variable }
            return nil
        } ?? "storage.path"
        let path = storage.path
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            return ["\(key): \(path) is a folder; name the database file in it (e.g. \(path)/ecd.sqlite)"]
        }
        let folder = Self.parent(of: path)
        var existing = folder
        while !FileManager.default.fileExists(atPath: existing, isDirectory: &isFolder) {
            existing = Self.parent(of: existing)
        }
        guard isFolder.boolValue else {
            return ["\(key): folder \(folder) cannot be created: \(existing) is a file, not a folder"]
        }
        let probe = existing + "/.ecd-write-check-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            let what = existing == folder ? "folder \(folder) is not writable"
                                          : "folder \(folder) does not exist and cannot be created: \(existing) is not writable"
            return ["\(key): \(what) by this user (uid \(getuid())): \(reason)"]
        }
        close(fd)
        unlink(probe)
        if FileManager.default.fileExists(atPath: path), access(path, R_OK | W_OK) != 0 {
            return ["\(key): \(path) is not readable and writable by this user (uid \(getuid()))"]
        }
        return []
    }

    /// The folder a path is in (`.` for a bare name, `/` at the top).
    private static func parent(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }
}
