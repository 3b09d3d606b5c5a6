import ECDPostgres
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

    func start() { listener.start() }
    func stop() { listener.stop() }
    var isListening: Bool { listener.isListening }

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
            // Only a pipe(2) failure (descriptors exhausted): without a feed, every cached token
            // could go stale, so cache nothing rather than serve one another node revoked.
            logger.error("cannot make the grant change feed; the token cache stays empty", metadata: ["error": "\(error)"])
            return EmptyCacheFeed()
        }
    }
}

/// Stands in for a feed that could not be made: never listening, so `/readyz` says so.
private struct EmptyCacheFeed: GrantChangeFeed {
    func start() {}
    func stop() {}
    var isListening: Bool { false }
}
