import ECDCronofy
import FoundationEssentials
import Logging

/// What one refresh flight produced: the token, and whether Cronofy was actually asked.
struct RefreshResult: Sendable {
    var token: AccessToken
    var refreshed: Bool
}

/// The refresher: one refresh per token owner (single flight in process, lease column across
/// processes), the new refresh token stored in the same transaction as the access token, never
/// replaced by nothing; `invalid_grant` ends the authorization, transient failures back off while
/// the old token keeps being served as long as it is valid.
extension TokenVault {
    func performRefresh(_ owner: TokenOwner, force: Bool, minValidity: Duration,
                        seenExpiry: Date?) async throws -> RefreshResult {
        let now = Date()
        guard let state = try await storage.read({ try $0.tokenState(owner) }) else {
            throw CoreError.notFound(owner.notFoundMessage)
        }
        guard state.isActive else { throw CoreError.accountNotActive(status: state.accountStatus) }
        let current = try decryptedToken(state)
        if !force, let current, current.expiresAt.timeIntervalSince(now) >= minValidity.timeInterval {
            return RefreshResult(token: current, refreshed: false)
        }
        if !force, let seenExpiry, let current, current.expiresAt != seenExpiry, current.expiresAt > now {
            return RefreshResult(token: current, refreshed: false)
        }
        if !force, let next = state.nextAttemptAt, next > now {
            if let current, current.expiresAt > now { return RefreshResult(token: current, refreshed: false) }
            throw CoreError.cronofyUnavailable("refreshing this token is backing off after Cronofy failed")
        }
        guard try await acquireLease(owner, now: now) else {
            metrics.refresh("lease_busy")
            return try await awaitOtherRefresher(owner, previousExpiry: state.expiresAt, minValidity: minValidity, current: current)
        }
        // Re-read under the lease: another process may have refreshed (and rotated the refresh
        // token) between the first read and the lease; spending the old one would be invalid_grant.
        let ticket = cache.ticket()
        guard let leased = try await storage.read({ try $0.tokenState(owner) }), leased.isActive else {
            try await releaseLease(owner)
            throw CoreError.accountNotActive(status: .revoked)
        }
        if leased.expiresAt != state.expiresAt, let token = try decryptedToken(leased),
           token.expiresAt.timeIntervalSinceNow >= minValidity.timeInterval {
            try await releaseLease(owner)
            cacheRefreshedElsewhere(token, leased, ticket: ticket)
            return RefreshResult(token: token, refreshed: true)
        }
        return try await refreshLeased(leased, force: force, current: current)
    }

    private func refreshLeased(_ state: TokenState, force: Bool, current: AccessToken?) async throws -> RefreshResult {
        let owner = state.owner
        guard let envelope = state.refreshToken else {
            try await releaseLease(owner)
            try await markReauthorizationRequired(state, reason: "no_refresh_token")
            throw CoreError.accountNotActive(status: .reauthorizationRequired)
        }
        let refreshToken = try secrets.open(envelope, table: state.table, row: state.rowKey, column: "refresh_token")
        let response: TokenResponse
        do {
            response = try await cronofy.refresh(refreshToken: refreshToken)
        } catch {
            return try await handleRefreshFailure(error, state: state, force: force, current: current)
        }
        let token = try await storeRefreshed(response, state: state)
        metrics.refresh("ok")
        logger.debug("token refreshed", metadata: owner.logMetadata(state))
        return RefreshResult(token: token, refreshed: true)
    }

    private func acquireLease(_ owner: TokenOwner, now: Date) async throws -> Bool {
        let until = now.addingTimeInterval(configuration.refreshLeaseDuration.timeInterval)
        return try await storage.transaction { [leaseOwner] in
            try $0.acquireLease(owner, holder: leaseOwner, until: until, now: now)
        }
    }

    private func releaseLease(_ owner: TokenOwner) async throws {
        try await storage.transaction { [leaseOwner] in try $0.releaseLease(owner, holder: leaseOwner) }
    }

    /// Another process holds the lease: wait for its result rather than spend the refresh token twice.
    private func awaitOtherRefresher(_ owner: TokenOwner, previousExpiry: Date?, minValidity: Duration,
                                     current: AccessToken?) async throws -> RefreshResult {
        let deadline = Date().addingTimeInterval(min(configuration.refreshLeaseDuration.timeInterval, 15))
        while Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
            let ticket = cache.ticket()
            guard let state = try await storage.read({ try $0.tokenState(owner) }) else {
                throw CoreError.notFound(owner.notFoundMessage)
            }
            guard state.isActive else { throw CoreError.accountNotActive(status: state.accountStatus) }
            if state.expiresAt != previousExpiry, let token = try decryptedToken(state) {
                cacheRefreshedElsewhere(token, state, ticket: ticket)
                return RefreshResult(token: token, refreshed: true)
            }
        }
        if let current, current.expiresAt > Date() { return RefreshResult(token: current, refreshed: false) }
        throw CoreError.cronofyUnavailable("another process is refreshing this token")
    }

    /// Another process refreshed: this one's cache must not keep serving the token that was
    /// replaced (after a forced refresh, the one Cronofy has just refused). `ticket` was taken
    /// before the read that found the token, so a revoke committed since still wins.
    private func cacheRefreshedElsewhere(_ token: AccessToken, _ state: TokenState, ticket: UInt64) {
        if let key = state.emailKey { cache.replace(key, token, ticket: ticket) }
    }

    private func storeRefreshed(_ response: TokenResponse, state: TokenState) async throws -> AccessToken {
        let now = Date()
        let expiresAt = now.addingTimeInterval(TimeInterval(response.expiresIn))
        let access = try secrets.seal(response.accessToken, table: state.table, row: state.rowKey, column: "access_token")
        // Never replace a refresh token with nothing: keep the old one when the response has none.
        let refresh = try response.refreshToken.map {
            try secrets.seal($0, table: state.table, row: state.rowKey, column: "refresh_token")
        }
        let scope = response.scope.map(Scope.normalized) ?? state.scope
        let keyID = secrets.keyring.primaryKeyID
        let ticket = cache.ticket()
        let tokens = RefreshedTokens(accessToken: access, refreshToken: refresh, keyID: keyID, expiresAt: expiresAt,
                                     scope: scope, now: now)
        let updated = try await storage.transaction { try $0.storeRefreshedTokens(state.owner, tokens) }
        guard updated else {
            // Revoked or re-requested while Cronofy answered: the new tokens are not kept.
            let status = try await storage.read { try $0.tokenState(state.owner) }?.accountStatus ?? .revoked
            if status == .revoked, let rotated = response.refreshToken { await revokeUnkept(rotated, state: state) }
            throw CoreError.accountNotActive(status: status)
        }
        let token = AccessToken(accessToken: response.accessToken, expiresAt: expiresAt, scope: scope,
                                accountID: state.accountID, sub: state.sub, apiURL: apiURL)
        if let key = state.emailKey { cache.replace(key, token, ticket: ticket) }
        return token
    }

    /// A refresh token Cronofy rotated to while a revocation ran: the revocation sent the old one,
    /// which Cronofy may accept as a no-op (RFC 7009 §2.2), so this one, which nobody will store,
    /// is what keeps the grant alive. Not done for a re-requested account: revoking this token
    /// may take the new authorization of the same calendar with it.
    private func revokeUnkept(_ refreshToken: String, state: TokenState) async {
        do {
            try await cronofy.revoke(token: refreshToken)
            logger.info("revoked the refresh token a refresh got while its owner was revoked", metadata: state.owner.logMetadata(state))
        } catch {
            logger.error("could not revoke the refresh token a refresh got while its owner was revoked; Cronofy may still hold the grant",
                         metadata: state.owner.logMetadata(state).merging(["error": "\(error)"]) { $1 })
        }
    }

    private func handleRefreshFailure(_ error: CronofyError, state: TokenState, force: Bool,
                                      current: AccessToken?) async throws -> RefreshResult {
        if case .invalidGrant = error {
            metrics.refresh("invalid_grant")
            // Another refresher (a process whose lease ran out while Cronofy was slow) may have
            // rotated the refresh token we just spent: its tokens are stored, the grant is alive.
            if let winner = try await storedByAnotherRefresher(state) {
                logger.info("refresh token was rotated by another refresher", metadata: state.owner.logMetadata(state))
                return RefreshResult(token: winner, refreshed: true)
            }
            if try await beginReauthorization(state) {
                throw CoreError.accountNotActive(status: .reauthorizing)
            }
            try await markReauthorizationRequired(state, reason: "invalid_grant")
            throw CoreError.accountNotActive(status: .reauthorizationRequired)
        }
        metrics.refresh(error.isTransient ? "transient" : "error")
        var retryAfter: Duration?
        if case .rateLimited(let after) = error { retryAfter = after }
        let failures = state.failures + 1
        let delay = Backoff.delay(failures: failures, cap: configuration.maxBackoff, retryAfter: retryAfter)
        let next = Date().addingTimeInterval(delay.timeInterval)
        try await storage.transaction { try $0.backOffRefresh(state.owner, failures: failures, nextAt: next) }
        var metadata = state.owner.logMetadata(state)
        metadata["error"] = "\(error)"
        metadata["failures"] = .stringConvertible(failures)
        if error.isTransient {
            logger.warning("token refresh failed, backing off", metadata: metadata)
        } else {
            logger.error("token refresh refused", metadata: metadata)
        }
        if !force, let current, current.expiresAt > Date() { return RefreshResult(token: current, refreshed: false) }
        throw CoreError.cronofyUnavailable("Cronofy could not refresh the token (\(error))")
    }

    /// The token another refresher stored after `state` was read (its refresh token differs from
    /// the one spent), or nil when the spent one is still the stored one: then the grant is dead.
    private func storedByAnotherRefresher(_ state: TokenState) async throws -> AccessToken? {
        let ticket = cache.ticket()
        guard let stored = try await storage.read({ try $0.tokenState(state.owner) }), stored.isActive,
              let refresh = stored.refreshToken, refresh != state.refreshToken,
              let token = try decryptedToken(stored)
        else { return nil }
        try await releaseLease(state.owner)
        cacheRefreshedElsewhere(token, stored, ticket: ticket)
        return token
    }

    /// Cronofy refused the refresh token: the authorization is gone until someone re-authorizes.
    /// The update only applies while the spent refresh token is still the stored one, so a grant
    /// another refresher renewed in the meantime is never declared dead.
    func markReauthorizationRequired(_ state: TokenState, reason: String) async throws {
        let now = Date()
        switch state.owner {
        case .account:
            try await storage.transaction { transaction in
                guard try transaction.endGrant(state.owner, spentRefreshToken: state.refreshToken, now: now) else { return }
                try transaction.appendEvent(.accountReauthorizationRequired, serviceAccountID: state.serviceAccountID,
                                            email: state.email, data: ["reason": .string(reason)], at: now)
            }
            if let key = state.emailKey { cache.invalidate(key) }
            logger.warning("account needs reauthorization", metadata: state.owner.logMetadata(state))
        case .serviceAccount(let id):
            try await storage.transaction { transaction in
                guard try transaction.endGrant(state.owner, spentRefreshToken: state.refreshToken, now: now) else { return }
                let emails = try transaction.markAccountsAtRisk(serviceAccountID: id)
                try transaction.appendEvent(.serviceAccountReauthorizationRequired, serviceAccountID: id, email: nil,
                                            data: ["reason": .string(reason), "accounts_at_risk": .number(Double(emails.count)),
                                                   "emails": .array(emails.prefix(1000).map(JSONValue.string))], at: now)
            }
            logger.warning("service account needs reauthorization", metadata: ["service_account_id": "\(id)"])
        }
    }
}

extension TokenOwner {
    func logMetadata(_ state: TokenState) -> Logger.Metadata {
        switch self {
        case .account: return ["email": "\(state.email ?? "?")", "service_account_id": "\(state.serviceAccountID ?? "-")"]
        case .serviceAccount(let id): return ["service_account_id": "\(id)"]
        }
    }
}
