import ECDCLibPQ

/// The isolation level of a `write` transaction.
public enum PostgresIsolation: Sendable {
    case readCommitted, repeatableRead, serializable

    var begin: String {
        switch self {
        case .readCommitted: return "BEGIN ISOLATION LEVEL READ COMMITTED"
        case .repeatableRead: return "BEGIN ISOLATION LEVEL REPEATABLE READ"
        case .serializable: return "BEGIN ISOLATION LEVEL SERIALIZABLE"
        }
    }
}

extension PostgresPool {
    /// Runs `body` on a borrowed connection, outside any transaction (each statement commits
    /// by itself). Blocks the calling thread: use `asyncRead` from async code.
    @discardableResult
    public func read<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let handle = try checkout()
        defer { checkin(handle) }
        return try Self.lend(handle, body)
    }

    /// Runs `body` in a transaction on a borrowed connection: committed when `body` returns,
    /// rolled back when it throws. A COMMIT lost with the connection throws `.unavailable`: the
    /// transaction may or may not have been applied, so writes must be safe to retry.
    @discardableResult
    public func write<T>(isolation: PostgresIsolation = .readCommitted,
                         _ body: (PostgresConnection) throws -> T) throws -> T {
        let handle = try checkout()
        defer { checkin(handle) }
        return try Self.inTransaction(handle, isolation, body)
    }

    /// `read` for async callers: waits for a connection without blocking a thread, then runs
    /// `body` (blocking libpq calls) on the pool's work queue.
    @discardableResult
    public func asyncRead<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let lease = try await acquire()
        return try await onWorkQueue {
            let handle = try self.ready(lease)
            defer { self.checkin(handle) }
            return try Self.lend(handle, body)
        }
    }

    /// `write` for async callers.
    @discardableResult
    public func asyncWrite<T: Sendable>(isolation: PostgresIsolation = .readCommitted,
                                        _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let lease = try await acquire()
        return try await onWorkQueue {
            let handle = try self.ready(lease)
            defer { self.checkin(handle) }
            return try Self.inTransaction(handle, isolation, body)
        }
    }

    /// True when a connection can be borrowed and answers `SELECT 1` (for readiness checks).
    public func isReachable() -> Bool {
        (try? read { try $0.queryOne("SELECT 1") }) != nil
    }

    // MARK: - Internals

    private func onWorkQueue<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            workQueue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    private static func lend<T>(_ handle: ConnectionHandle, _ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = PostgresConnection(handle: handle)
        defer { connection.invalidate() }
        return try body(connection)
    }

    private static func inTransaction<T>(_ handle: ConnectionHandle, _ isolation: PostgresIsolation,
                                         _ body: (PostgresConnection) throws -> T) throws -> T {
        try handle.runScript(isolation.begin)
        do {
            let result = try lend(handle, body)
            // COMMIT of a failed transaction answers "ROLLBACK" without an error: a statement
            // whose error `body` swallowed must not pass for a committed write.
            guard handle.transactionStatus != PQTRANS_INERROR else {
                throw PostgresError.misuse("a statement failed inside the transaction; it was rolled back")
            }
            try handle.runScript("COMMIT")
            return result
        } catch {
            if handle.isInTransaction, !handle.isBroken {
                do { try handle.runScript("ROLLBACK") } catch { handle.markBroken() }
            }
            throw error
        }
    }
}
