import ECDCrypto
import ECDPostgres
import FoundationEssentials

/// The PostgreSQL driver of `CoreStorage`: a bounded `PostgresPool` shared by every operation,
/// each transaction READ COMMITTED on one pooled connection. The statements live in
/// `PostgresStore`; this type runs them off the cooperative pool (the pool's own work queue) and
/// turns `PostgresError` into `StorageError`.
///
/// **How PostgreSQL stands in for SQLite's `BEGIN IMMEDIATE`** (docs/design/storage-drivers.md §2):
/// row locks, not SERIALIZABLE. Inside a transaction every row `PostgresStore` reads is read
/// `FOR UPDATE` (locked until the commit), and every due-work scan `FOR UPDATE SKIP LOCKED` (a
/// claim: another node's scan passes over the rows, and once the claim commits they are no longer
/// due). So each read-then-write the flows still make (the intake's checks, the inbox claim,
/// "previous status", the renewal-or-reset of a request, the revoke and send counters) runs on
/// rows nobody else can change before the commit, exactly as under SQLite's one writer, while
/// transactions on other rows run side by side. SERIALIZABLE would give the same outcome but
/// abort with 40001 whenever two nodes' transactions merely read overlapping ranges (every scan
/// does), so a busy cluster would spend its time retrying; with row locks only real conflicts
/// wait. What row locks leave is a deadlock when two transactions lock the same rows in opposite
/// orders (40P01): the server aborts one, and `transaction` runs it again from the start (the
/// bodies are pure database work, safe to repeat), a few times before answering `unavailable`.
final class PostgresStorage: CoreStorage {
    let pool: PostgresPool

    /// Attempts of a transaction aborted by a deadlock or a serialization failure.
    static let attempts = 4

    /// `pool` must hold a database migrated by `CorePostgresSchema` (`PostgresPool.migrate`).
    init(pool: PostgresPool) {
        self.pool = pool
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any CoreReader) throws -> T) async throws -> T {
        do {
            return try await pool.asyncRead { connection in try body(PostgresStore(connection: connection, locking: false)) }
        } catch let error as PostgresError {
            throw Self.storageError(error)
        }
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any CoreTransaction) throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await pool.asyncWrite { connection in try body(PostgresStore(connection: connection, locking: true)) }
            } catch let error as PostgresError {
                if Self.isRetryable(error), attempt < Self.attempts {
                    attempt += 1
                    // A short random pause, so the two transactions of a deadlock do not meet again.
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 1...(10 * attempt))))
                    continue
                }
                throw Self.storageError(error)
            }
        }
    }

    /// One read per call, no commit: a SELECT in autocommit writes nothing. It answers whether a
    /// pooled connection works (the pool fails fast while the server is away) and whether the
    /// server takes writes at all (a standby, or a database set read-only, does not). Unlike
    /// SQLite, PostgreSQL reports a full disk or a failing WAL on the write itself; a failed write
    /// answers 503 there.
    func health() async -> StorageHealth {
        do {
            let row = try await pool.asyncRead { connection in
                try connection.queryOne(
                    """
                    SELECT last_event_id, pg_is_in_recovery() AS standby,
                        current_setting('transaction_read_only') AS read_only
                    FROM webhook_cursor WHERE id = 1
                    """)
            }
            guard let row else { return .unavailable("the database is not migrated (no webhook cursor)") }
            if row.optional("standby") == true { return .unavailable("the database is a standby (read-only)") }
            if row.optional("read_only") == "on" { return .unavailable("the database is read-only") }
            return .healthy
        } catch let error as PostgresError {
            return .unavailable("the database is not reachable: \(Self.storageError(error).description)")
        } catch {
            return .unavailable("the database is not reachable: \(error)")
        }
    }

    func rewrap(keyring: Keyring) async throws -> RewrapReport {
        do {
            return try await PostgresRewrap.run(pool: pool, keyring: keyring)
        } catch let error as PostgresError {
            throw Self.storageError(error)
        }
    }

    static func isRetryable(_ error: PostgresError) -> Bool {
        guard error.kind == .server, let state = error.sqlState else { return false }
        return state == "40001" || state == "40P01"
    }

    /// `PostgresError`'s description names the SQLSTATE, the message and the SQL, never a bound
    /// value (ECDPostgres drops the server's DETAIL and rewrites data exceptions).
    static func storageError(_ error: PostgresError) -> StorageError {
        switch error.kind {
        case .unavailable, .timeout, .poolTimeout:
            return .unavailable(error.description)
        case .misuse:
            // A closed pool, a failed statement swallowed inside a transaction: our bug, not an outage.
            return .failed(error.description)
        case .decoding:
            return .corrupt(error.description)
        case .server:
            let state = error.sqlState ?? ""
            if state.hasPrefix("23") { return .conflict(error.description) }
            // Data that cannot be stored or read back as written (class 22, "XX001" a damaged block).
            if state.hasPrefix("22") || state == "XX001" || state == "XX002" { return .corrupt(error.description) }
            // Deadlocks and serialization failures after the retries, shutdowns, lock timeouts,
            // a read-only database: the database cannot take this now.
            return .unavailable(error.description)
        }
    }
}
