import Logging

/// A grant change another process committed on the shared database (issue 16, cache coherence).
enum GrantChange: Sendable, Equatable {
    /// One account's grant; `digest` is `GrantDigest.of(emailKey)`.
    case account(digest: String)
    /// Anything may have changed: the feed (re)subscribed after a time it could not hear.
    case anything
}

/// Where a driver's grant changes come from; the facade starts it with the daemon's background
/// work and stops it at shutdown.
protocol GrantChangeFeed: Sendable {
    func start()
    func stop()
    /// True while started but not subscribed, when changes may be missed: `/readyz` says so. A
    /// facade never started (a command, a test) or stopped misses nothing it would serve.
    var isMissingChanges: Bool { get }
}

extension CoreStorage {
    /// No other process writes a SQLite database (`DatabaseLock`): nothing to hear.
    func grantChanges(logger: Logger, _ deliver: @escaping @Sendable (GrantChange) -> Void) -> (any GrantChangeFeed)? {
        nil
    }
}
