import ECDCrypto
import ECDSQLite
import ECDSync
import FoundationEssentials
import Logging

/// The SQLite driver of `CoreStorage`: one `Database` (one connection on its own serial queue),
/// every transaction `BEGIN IMMEDIATE`, so the one writer serializes every read-then-write. The
/// statements live in `SQLiteStore`; this type runs them off the cooperative pool and turns
/// `SQLiteError` into `StorageError`.
public final class SQLiteStorage: CoreStorage {
    public let database: Database
    /// The outcome of the last transaction, for `health()`.
    private let writes = Locked(WriteRecord())
    /// Probe commits `health()` made (tests read it: `/readyz` must not commit per call).
    let probeCommits = Locked(0)

    struct WriteRecord {
        var lastCommit: ContinuousClock.Instant?
        var failedSinceCommit = false
    }

    /// How long a real commit vouches for writability.
    static let commitVouches: Duration = .seconds(5)

    public init(database: Database) {
        self.database = database
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any CoreReader) throws -> T) async throws -> T {
        do {
            return try await database.asyncRead { connection in try body(SQLiteStore(connection: connection)) }
        } catch let error as SQLiteError {
            throw Self.storageError(error)
        }
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any CoreTransaction) throws -> T) async throws -> T {
        do {
            let (result, wrote) = try await database.asyncWrite { connection in
                let before = connection.totalChanges
                let result = try body(SQLiteStore(connection: connection))
                return (result, connection.totalChanges > before)
            }
            // Only a commit that wrote rows went to disk: an empty one proves nothing about writes.
            if wrote { writes.withLock { $0 = WriteRecord(lastCommit: .now, failedSinceCommit: false) } }
            return result
        } catch let error as SQLiteError {
            let mapped = Self.storageError(error)
            if case .unavailable = mapped { writes.withLock { $0.failedSinceCommit = true } }
            throw mapped
        }
    }

    /// A read every call (a closed, unreadable or damaged database fails it at once), and for
    /// writability the evidence of the last real commit: any transaction that wrote rows and committed within
    /// `commitVouches`, with no write failing since, shows that the database takes writes. Only
    /// when no such commit exists does it commit a probe (a no-op update), so an orchestrator
    /// polling `/readyz` every second costs at most one fsync per five seconds on an idle
    /// daemon and none on a busy one, where it used to cost one per call. A write that fails
    /// (disk full, I/O error, lock held past the busy timeout) voids the evidence at once.
    func health() async -> StorageHealth {
        do {
            _ = try await database.asyncRead { connection in
                try connection.queryOne("SELECT last_event_id FROM webhook_cursor WHERE id = 1")
            }
        } catch {
            return .unavailable("the database is not writable (it cannot be read): \(Self.describe(error))")
        }
        let vouched = writes.withLock { record -> Bool in
            guard let last = record.lastCommit, !record.failedSinceCommit else { return false }
            return ContinuousClock.now - last < Self.commitVouches
        }
        if vouched { return .healthy }
        do {
            try await database.asyncWrite { connection in try SQLiteStore(connection: connection).probeWrite() }
            writes.withLock { $0 = WriteRecord(lastCommit: .now, failedSinceCommit: false) }
            probeCommits.withLock { $0 += 1 }
            return .healthy
        } catch {
            return .unavailable("the database is not writable: \(Self.describe(error))")
        }
    }

    func rewrap(keyring: Keyring) async throws -> RewrapReport {
        let database = self.database
        // The rewrap blocks (it pauses between batches to let the daemon write): a thread of its own.
        do {
            return try await withCheckedThrowingContinuation { continuation in
                OSThread.start(name: "ecd-rewrap") {
                    continuation.resume(with: Result { try SecretRewrap.run(database: database, keyring: keyring) })
                }
            }
        } catch let error as SQLiteError {
            throw Self.storageError(error)
        }
    }

    /// Refresh leases of a process that died while refreshing: with the database held alone
    /// (`soleProcess`, SQLite's DatabaseLock) nobody else can be refreshing, so a refresh asked
    /// for right after start need not wait for them to run out. Synchronous: made before the
    /// facade serves anything.
    func clearLeasesAtStart(logger: Logger) {
        do {
            let cleared = try database.write { connection in try SQLiteStore(connection: connection).clearAllLeases() }
            if cleared > 0 {
                logger.notice("refresh leases of a previous process cleared", metadata: ["count": .stringConvertible(cleared)])
            }
        } catch {
            // Not fatal: the leases then run out as they would with several processes.
            logger.error("clearing stale refresh leases failed", metadata: ["error": "\(error)"])
        }
    }

    static func storageError(_ error: SQLiteError) -> StorageError {
        switch error.resultCode {
        case .constraint: return .conflict(error.description)
        case .corrupt, .notADatabase: return .corrupt(error.description)
        // A call SQLite refuses whatever the database's state: a bug, not an outage.
        case .misuse, .range, .mismatch: return .failed(error.description)
        default: return .unavailable(error.description)
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? SQLiteError { return storageError(error).description }
        return "\(error)"
    }
}
