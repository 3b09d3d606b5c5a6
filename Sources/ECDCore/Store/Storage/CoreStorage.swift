import ECDCrypto
import FoundationEssentials
import Logging

/// The one seam between the flows and a database (docs/design/storage-drivers.md §2): the flows
/// speak in operations of their own (load a record, take a lease, spend a one-shot token, claim an
/// inbox row), never in SQL, and one driver per database implements them. `SQLiteStorage` is the
/// driver today; a PostgreSQL driver implements the same protocols.
///
/// Internal on purpose: the records in these signatures are the core's own. A second driver
/// lives in this module beside `SQLiteStorage` (ECDCore may depend on ECDPostgres as it does on
/// ECDSQLite), so none of them needs to be public.
protocol CoreStorage: Sendable {
    /// Runs `body` outside any transaction: each read sees committed data.
    func read<T: Sendable>(_ body: @escaping @Sendable (any CoreReader) throws -> T) async throws -> T

    /// Runs `body` as one transaction: committed when it returns, rolled back when it throws.
    ///
    /// What makes a driver correct, whatever its isolation (the trap of READ COMMITTED): a row
    /// read through a `CoreTransaction` is locked until the commit (SQLite: `BEGIN IMMEDIATE`, one
    /// writer at a time; PostgreSQL: `SELECT … FOR UPDATE`, scans `FOR UPDATE SKIP LOCKED`, so a
    /// scan of due work claims what it returns), and every operation that decides and writes in
    /// one step (`acquireLease`, `spendOAuthState`, `spendConnectLink`, `markRevokePending`,
    /// `deferSend`, the conditional state changes returning `Bool`) is one conditional statement.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any CoreTransaction) throws -> T) async throws -> T

    /// Whether the storage can take writes now; cheap enough for every `/readyz`.
    func health() async -> StorageHealth

    /// Re-seals every stored secret with `keyring`'s primary key, in short batches.
    func rewrap(keyring: Keyring) async throws -> RewrapReport

    /// The grant changes other processes commit, for the token cache (issue 16); nil when no
    /// other process writes this database (SQLite, the default in `GrantChanges.swift`).
    func grantChanges(logger: Logger, _ deliver: @escaping @Sendable (GrantChange) -> Void) -> (any GrantChangeFeed)?
}

/// What a driver says to `/readyz`.
enum StorageHealth: Sendable, Equatable {
    case healthy
    case unavailable(String)
}

/// The failures of a driver, as the flows and ECDApp see them: never `SQLiteError` or
/// `PostgresError`, and never a bound value (a secret) in the message.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database cannot be reached or written now (busy, I/O, disk full, closed): try again.
    case unavailable(String)
    /// A constraint refused the write.
    case conflict(String)
    /// The database file or a row is damaged.
    case corrupt(String)
    /// The driver was used wrongly or a statement is wrong (a bug of ours, SQLite's `misuse`,
    /// `range`, `mismatch`): trying again would fail the same way, so it is not `unavailable`
    /// and the API answers it 500, not 503 with a Retry-After.
    case failed(String)

    public var description: String {
        switch self {
        case .unavailable(let message): return "storage unavailable: \(message)"
        case .conflict(let message): return "storage conflict: \(message)"
        case .corrupt(let message): return "storage corrupt: \(message)"
        case .failed(let message): return "storage failed: \(message)"
        }
    }
}
