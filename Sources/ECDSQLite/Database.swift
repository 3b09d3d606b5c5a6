import Dispatch
import ECDCSQLite

/// One SQLite connection, owned by this object and confined to one serial queue: every use goes
/// through `read` or `write`, which run on that queue, so the `sqlite3*` is never touched by two
/// threads at once (the connection is opened with `SQLITE_OPEN_NOMUTEX`).
///
/// Calling `read`/`write` from inside another `read`/`write` of the same database would deadlock;
/// it stops with a precondition failure instead.
public final class Database: @unchecked Sendable {
    public let path: String
    private let queue: DispatchQueue
    private let queueKey = DispatchSpecificKey<Void>()
    /// Touched only on `queue` (or in `init`/`deinit`, when nobody else holds the object).
    private var handle: ConnectionHandle?

    /// Opens (creating if needed) the database at `path` with the policy of `DatabasePolicy`.
    /// `":memory:"` opens a private in-memory database.
    public init(path: String, busyTimeout: Duration = .seconds(5), statementCacheCapacity: Int = 64) throws {
        self.path = path
        self.queue = DispatchQueue(label: "ecd.sqlite")
        let pointer = try DatabasePolicy.open(path: path, busyTimeout: busyTimeout)
        self.handle = ConnectionHandle(pointer: pointer, cacheCapacity: max(1, statementCacheCapacity))
        queue.setSpecific(key: queueKey, value: ())
    }

    deinit { handle?.close() }

    /// Runs `body` on the database queue, outside any transaction. Blocks the calling thread
    /// (an fsync, a lock held by another process for up to the busy timeout): never from async
    /// code, where it would hold one of the few cooperative-pool threads; use `asyncRead` there.
    @available(*, noasync, message: "blocks a cooperative-pool thread: use asyncRead")
    public func read<T>(_ body: (Connection) throws -> T) throws -> T {
        try onQueue { handle in
            let connection = Connection(handle: handle)
            defer { connection.invalidate() }
            return try body(connection)
        }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: committed when `body` returns, rolled back
    /// when it throws (or when COMMIT fails). IMMEDIATE takes the write lock up front, so the
    /// transaction cannot fail half-way with SQLITE_BUSY on its first write. Blocks the calling
    /// thread, so never from async code: use `asyncWrite` there.
    @available(*, noasync, message: "blocks a cooperative-pool thread: use asyncWrite")
    public func write<T>(_ body: (Connection) throws -> T) throws -> T {
        try onQueue { handle in
            try Self.inTransaction(handle, body)
        }
    }

    /// Closes the connection: every cached statement is finalized, then `sqlite3_close`.
    /// Returns the SQL of statements that were still unfinalized (empty when clean). Later calls
    /// to `read`/`write` throw SQLITE_MISUSE.
    @discardableResult
    public func close() -> [String] {
        precondition(DispatchQueue.getSpecific(key: queueKey) == nil, "Database.close() called inside read/write")
        return queue.sync {
            defer { handle = nil }
            return handle?.close() ?? []
        }
    }

    /// Number of prepared statements held by the cache (for tests and diagnostics).
    public var cachedStatementCount: Int {
        (try? onQueue { $0.cachedStatementCount }) ?? 0
    }

    // MARK: - Internals shared with the maintenance extension

    func onQueue<T>(_ work: (ConnectionHandle) throws -> T) throws -> T {
        precondition(DispatchQueue.getSpecific(key: queueKey) == nil,
                     "Database.read/write called from inside read/write: this would deadlock")
        return try queue.sync {
            guard let handle else {
                throw SQLiteError.misuse("database is closed", sql: nil)
            }
            return try work(handle)
        }
    }

    /// Like `onQueue`, but suspends the calling task instead of blocking its thread: the work is
    /// queued on the database queue and resumes the caller when done.
    func onQueueAsync<T: Sendable>(_ work: @escaping @Sendable (ConnectionHandle) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                guard let handle = self.handle else {
                    continuation.resume(throwing: SQLiteError.misuse("database is closed", sql: nil))
                    return
                }
                continuation.resume(with: Result { try work(handle) })
            }
        }
    }

    static func inTransaction<T>(_ handle: ConnectionHandle, _ body: (Connection) throws -> T) throws -> T {
        try run(handle, "BEGIN IMMEDIATE")
        let connection = Connection(handle: handle)
        defer { connection.invalidate() }
        do {
            let result = try body(connection)
            try run(handle, "COMMIT")
            return result
        } catch {
            // SQLite may already have rolled back (e.g. after SQLITE_FULL); only roll back if open.
            if sqlite3_get_autocommit(handle.db) == 0 {
                try? run(handle, "ROLLBACK")
            }
            throw error
        }
    }

    /// Transaction control statements go through the statement cache: every `write` uses them.
    private static func run(_ handle: ConnectionHandle, _ sql: String) throws {
        try handle.withStatement(sql) { statement in
            while try statement.step() {}
        }
    }
}
