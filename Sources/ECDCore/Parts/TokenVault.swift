import ECDCrypto
import ECDSync
import FoundationEssentials

/// The token vault: reads through the in-memory cache (`Flows/TokenVault+Tokens.swift`), refreshes
/// under a lease, one refresh per token across processes and one flight per token in this one
/// (`+Refresh.swift`), and refreshes ahead of expiry (`Background/TokenVault+RefreshAhead.swift`).
final class TokenVault: CorePart {
    let context: CoreContext
    let cache: TokenCache
    /// Other nodes' grant changes (PostgreSQL); nil on SQLite, where this process is the only
    /// writer. Started and stopped with the facade's background work.
    let grantFeed: (any GrantChangeFeed)?
    let refreshFlights = SingleFlight<TokenOwner, RefreshResult>()
    /// Names this process in the refresh lease columns.
    let leaseOwner: String
    /// Cronofy refused a refresh token (`invalid_grant`): starts the account's re-request, true if
    /// it did (`AccountRequests.beginReauthorization`). Set once by the facade: the requests need
    /// the vault for their tokens, so the vault cannot hold the requests.
    private let reauthorizer = Locked<(@Sendable (TokenState) async throws -> Bool)?>(nil)

    init(context: CoreContext) {
        self.context = context
        // A read is marked for `last_used_at` again at most every twelfth of the recent-use window
        // (5 minutes of the hour); refresh ahead widens its window by as much (RefreshAhead).
        // Digests only when other processes may write (their notifications name accounts by
        // digest): the sole SQLite daemon's cache inserts compute none.
        let cache = TokenCache(capacity: context.configuration.tokenCacheCapacity,
                               remarkAfter: context.configuration.recentUseWindow.timeInterval / 12,
                               keepsDigests: !context.configuration.soleProcess)
        self.cache = cache
        self.grantFeed = context.storage.grantChanges(logger: context.logger) { cache.apply($0) }
        self.leaseOwner = (try? SecureRandom.token(byteCount: 12)) ?? UUID().uuidString
    }

    func setReauthorizer(_ reauthorize: @escaping @Sendable (TokenState) async throws -> Bool) {
        reauthorizer.withLock { $0 = reauthorize }
    }

    func beginReauthorization(_ state: TokenState) async throws -> Bool {
        guard let reauthorize = reauthorizer.withLock({ $0 }) else { return false }
        return try await reauthorize(state)
    }
}
