import ECDPostgres
import ECDSync
import Logging

/// `LISTEN ecd_tokens` on a connection of its own (`PostgresListener`, which reconnects with
/// backoff): each notification names an account by digest; each (re)subscription is `.anything`,
/// since PostgreSQL keeps no notification for a listener that was away.
final class PostgresGrantFeed: GrantChangeFeed {
    /// `CoreGrantNotifications.channel` (ECDCorePostgres, which ECDCore does not import).
    static let channel = "ecd_tokens"

    private let listener: PostgresListener

    /// `isOwn`: whether a notification's sender backend is one of this node's (its own commits,
    /// whose changes its flows applied to the cache already; they are not applied twice).
    init(configuration: PostgresConfiguration, logger: Logger, isOwn: @escaping @Sendable (Int32) -> Bool = { _ in false },
         _ deliver: @escaping @Sendable (GrantChange) -> Void) throws {
        var configuration = configuration
        configuration.applicationName += " listener"
        listener = try PostgresListener(configuration, channels: [Self.channel]) { event in
            switch event {
            case .listening:
                logger.info("listening for grant changes of other nodes; token cache emptied")
                deliver(.anything)
            case .notification(_, let payload, let sender):
                if !isOwn(sender) { deliver(.account(digest: payload)) }
            case .disconnected(let error):
                // Cached tokens are still served meanwhile (they are valid, and PostgreSQL may be
                // the one away); the cache is emptied when the feed is back.
                logger.warning("grant change feed lost; reconnecting", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Between `start` and `stop`.
    private let running = Locked(false)

    func start() {
        running.withLock { $0 = true }
        listener.start()
    }

    func stop() {
        running.withLock { $0 = false }
        listener.stop()
    }

    var isMissingChanges: Bool { running.withLock { $0 } && !listener.isListening }

    /// Waits until subscribed (tests, and a node's start).
    func waitUntilListening(timeout: Duration) -> Bool { listener.waitUntilListening(timeout: timeout) }
}

extension TokenCache {
    /// What the feed heard, applied.
    func apply(_ change: GrantChange) {
        switch change {
        case .account(let digest): invalidate(digest: digest)
        case .anything: invalidateAll()
        }
    }
}

extension PostgresStorage {
    /// The listener connects with the pool's settings (its own connection, beside the pool's).
    func grantChanges(logger: Logger, _ deliver: @escaping @Sendable (GrantChange) -> Void) -> (any GrantChangeFeed)? {
        do {
            return try PostgresGrantFeed(configuration: pool.configuration, logger: logger,
                                         isOwn: { [pool] in pool.isOwnBackend($0) }, deliver)
        } catch {
            // Only a pipe(2) failure (descriptors exhausted). The node is then unfit to serve
            // beside others: `/readyz` says so until it is restarted.
            logger.error("cannot make the grant change feed; other nodes' changes will not reach the token cache",
                         metadata: ["error": "\(error)"])
            return EmptyCacheFeed()
        }
    }
}

/// Stands in for a feed that could not be made: always missing changes, so `/readyz` says so.
private struct EmptyCacheFeed: GrantChangeFeed {
    func start() {}
    func stop() {}
    var isMissingChanges: Bool { true }
}
