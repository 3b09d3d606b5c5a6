import ECDCronofy
import FoundationEssentials

/// The token vault: cached reads, lazy refresh with in-process single flight, and the public
/// token routes of accounts and service accounts.
extension TokenVault {
    /// The hot path: a cached token valid for `minValidity` comes back `.ready` after one lock and
    /// one dictionary lookup; anything else is `.pending` work (database, maybe a refresh).
    func token(email: String, minValidity: Duration) -> TokenLookup {
        let key = Email.key(email)
        metrics.accountTokenReads.increment()
        if let token = cache.lookup(key, minValidity: minValidity.timeInterval, now: Date()) {
            metrics.tokenCacheHits.increment()
            return .ready(token)
        }
        return .pending { [self] in try await self.loadAccountToken(emailKey: key, minValidity: minValidity) }
    }

    /// `POST /v1/accounts/{email}/refresh`: a new token now, whatever the old one's validity.
    func refresh(email: String) async throws -> AccessToken {
        let key = Email.key(email)
        guard let state = try await storage.read({ try $0.tokenState(emailKey: key) }) else {
            throw CoreError.notFound("no account \(email)")
        }
        guard state.isActive else { throw CoreError.accountNotActive(status: state.accountStatus) }
        return try await refreshedToken(state.owner, force: true, minValidity: .zero)
    }

    func serviceAccountToken(id: String, minValidity: Duration) async throws -> AccessToken {
        metrics.serviceAccountTokenReads.increment()
        return try await validToken(.serviceAccount(id), minValidity: minValidity)
    }

    func loadAccountToken(emailKey: String, minValidity: Duration) async throws -> AccessToken {
        // Before the read: a revoke that commits after it makes the cache refuse what was read.
        let ticket = cache.ticket()
        guard let state = try await storage.read({ try $0.tokenState(emailKey: emailKey) }) else {
            throw CoreError.notFound("no account \(emailKey)")
        }
        // Being re-requested: the current token is still good while it lasts.
        if state.accountStatus == .reauthorizing, let token = try decryptedToken(state),
           token.expiresAt.timeIntervalSinceNow >= minValidity.timeInterval {
            cache.store(emailKey, token, ticket: ticket, markUsed: true)
            return token
        }
        guard state.isActive else { throw CoreError.accountNotActive(status: state.accountStatus) }
        if let token = try decryptedToken(state), token.expiresAt.timeIntervalSinceNow >= minValidity.timeInterval {
            await configuration.afterTokenLoad?()
            cache.store(emailKey, token, ticket: ticket, markUsed: true)
            return token
        }
        let token = try await refreshedToken(state.owner, force: false, minValidity: minValidity, seenExpiry: state.expiresAt)
        cache.store(emailKey, token, ticket: ticket, markUsed: true)
        return token
    }

    /// A token of `owner` valid for `minValidity` if one can be had (refreshing when needed).
    func validToken(_ owner: TokenOwner, minValidity: Duration) async throws -> AccessToken {
        guard let state = try await storage.read({ try $0.tokenState(owner) }) else {
            throw CoreError.notFound(owner.notFoundMessage)
        }
        guard state.isActive else { throw CoreError.accountNotActive(status: state.accountStatus) }
        if let token = try decryptedToken(state), token.expiresAt.timeIntervalSinceNow >= minValidity.timeInterval {
            return token
        }
        return try await refreshedToken(owner, force: false, minValidity: minValidity, seenExpiry: state.expiresAt)
    }

    /// Refreshes through the single flight. A forced caller that joined a flight which found the
    /// token fresh enough (and so did not refresh) starts its own. `seenExpiry` is the expiry the
    /// caller saw before deciding to refresh: if the stored token changed since, someone else has
    /// just refreshed it and that token is the answer (even when it is shorter than `minValidity`).
    func refreshedToken(_ owner: TokenOwner, force: Bool, minValidity: Duration,
                        seenExpiry: Date? = nil) async throws -> AccessToken {
        for _ in 0..<3 {
            let result = try await refreshFlights.run(owner) { [self] in
                try await self.performRefresh(owner, force: force, minValidity: minValidity, seenExpiry: seenExpiry)
            }
            if result.refreshed || !force { return result.token }
        }
        throw CoreError.cronofyUnavailable("the token could not be refreshed, try again")
    }

    func decryptedToken(_ state: TokenState) throws -> AccessToken? {
        guard let envelope = state.accessToken, let expiresAt = state.expiresAt else { return nil }
        let value = try secrets.open(envelope, table: state.table, row: state.rowKey, column: "access_token")
        return AccessToken(accessToken: value, expiresAt: expiresAt, scope: state.scope,
                           accountID: state.accountID, sub: state.sub, apiURL: apiURL)
    }

    func flushLastUsed() async {
        let keys = cache.takeUsedKeys()
        guard !keys.isEmpty else { return }
        let now = Date()
        do {
            try await storage.transaction { try $0.touchLastUsed(emailKeys: keys, at: now) }
        } catch {
            logger.warning("last-used flush failed", metadata: ["error": "\(error)", "accounts": .stringConvertible(keys.count)])
        }
    }
}

extension TokenOwner {
    var notFoundMessage: String {
        switch self {
        case .account: return "no such account"
        case .serviceAccount(let id): return "no service account \(id)"
        }
    }
}
