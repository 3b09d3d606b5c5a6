import ECDCrypto
import ECDPostgres
import ECDSQLite
import Logging

/// The database the service layer runs on, as `EnterpriseConnect.init` takes it: a value of the
/// core, so that a second driver is one more case here (PostgreSQL, issue 16), not a change of the
/// facade's signature. The database must be migrated first (`CoreSchema.migrate`).
public enum CoreDatabase: Sendable {
    /// One SQLite file, opened by the caller (who also closes it after `shutdown()`).
    case sqlite(Database)
    /// A PostgreSQL database through a pool opened by the caller (who closes it after
    /// `shutdown()`), migrated by `CorePostgresSchema`; several nodes may share it.
    case postgres(PostgresPool)

    /// The driver of `CoreStorage` for this database. `soleProcess`: nobody else uses it, so
    /// refresh leases found now belong to a process that died and are cleared at once.
    func makeStorage(soleProcess: Bool, logger: Logger) -> any CoreStorage {
        switch self {
        case .sqlite(let database):
            let storage = SQLiteStorage(database: database)
            if soleProcess { storage.clearLeasesAtStart(logger: logger) }
            return storage
        case .postgres(let pool):
            // No lease clearing: on a database several nodes share, a lease found at start may be
            // a live node's, and it runs out by itself when its node is dead.
            return PostgresStorage(pool: pool)
        }
    }

    /// Key ids that still seal secrets in this database but are not in `keyring`, with their
    /// counts (read from the `secret_key_counts` both drivers keep by trigger; nothing decrypted).
    /// `ecd serve` refuses to start while any is missing, on either driver: every callback and
    /// refresh of those rows would fail. Synchronous: checked before anything serves.
    public func keysMissing(from keyring: Keyring) throws -> [String: Int] {
        let known = Set(keyring.keyIDs)
        switch self {
        case .sqlite(let database):
            return try SecretRewrap.keysMissing(from: keyring, in: database)
        case .postgres(let pool):
            do {
                return try pool.read { try PostgresStore(connection: $0, locking: false).keyIDsInUse() }
                    .filter { !known.contains($0.key) }
            } catch let error as PostgresError {
                throw PostgresStorage.storageError(error)
            }
        }
    }
}
