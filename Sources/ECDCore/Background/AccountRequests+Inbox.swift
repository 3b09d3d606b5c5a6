import ECDCronofy
import FoundationEssentials

/// An inbox row claimed for an exchange.
struct InboxClaim: Sendable {
    var id: Int64
    var requestID: String
    var codeEnvelope: [UInt8]
    /// The row was already `exchanging`: an earlier attempt may have spent the code at Cronofy.
    var wasExchanging: Bool
    var account: AccountRecord
}

/// Turns accepted callbacks into tokens. Each row is marked `exchanging` before Cronofy is
/// called; rows left `exchanging` by a crash or a transient failure are tried again, and if that
/// retry gets `invalid_grant` the code was spent without us storing the tokens, so the account is
/// re-requested through its service account: every acknowledged callback still ends `active`.
///
/// The claim is a lease (`markExchanging`: this node's id and an expiry, `clusterLeaseDuration`),
/// renewed while the exchange runs (a call may wait long for the request budget). A node that
/// dies mid-exchange stops renewing; once the lease has run out the row is due again and any node
/// claims it (on SQLite the next start makes it due at once: `resetExchangingInbox`). That node
/// sees `wasExchanging` and treats an `invalid_grant` as a code the dead node spent: it asks again.
extension AccountRequests {
    func runInboxWorker() async {
        do {
            // A previous process died mid-exchange: those rows are due now, not after their claim expires.
            try await storage.transaction { try $0.resetExchangingInbox() }
        } catch {
            logger.error("inbox recovery failed", metadata: ["error": "\(error)"])
        }
        while !stopping {
            let due: [Int64]
            do {
                let now = Date()
                due = try await storage.read { try $0.dueInboxRows(now: now, limit: 256) }
            } catch {
                logger.error("reading the callback inbox failed", metadata: ["error": "\(error)"])
                due = []
            }
            if due.isEmpty {
                // On a shared database a dead node's claim runs out without any signal here: look
                // again at least once a lease, so its callbacks wait no longer than that.
                let wait = configuration.soleProcess ? configuration.sweepInterval
                    : min(configuration.sweepInterval, configuration.clusterLeaseDuration)
                await inboxSignal.wait(timeout: wait)
                continue
            }
            let width = max(1, configuration.inboxConcurrency)
            await withTaskGroup(of: Void.self) { group in
                var pending = due.makeIterator()
                for _ in 0..<width {
                    guard let id = pending.next() else { break }
                    group.addTask { await self.processInboxRow(id) }
                }
                while await group.next() != nil {
                    guard !self.stopping, let id = pending.next() else { continue }
                    group.addTask { await self.processInboxRow(id) }
                }
            }
        }
    }

    func processInboxRow(_ id: Int64) async {
        do {
            guard let claim = try await claimInboxRow(id) else { return }
            let code = try secrets.open(claim.codeEnvelope, table: "callback_inbox", row: claim.requestID, column: "code")
            // Exactly the callback_url the request was sent with (reference §2): a later change of
            // public.base_url must not break requests in flight. Rows from before it was stored
            // fall back to the configured base URL.
            let callbackURL = claim.account.callbackURL ?? configuration.delegatedCallbackURL(requestID: claim.requestID)
            do {
                let response = try await holdingInboxLease(id) {
                    try await cronofy.exchangeCode(code, redirectURI: callbackURL, sendCallbackURL: true)
                }
                try await storeAuthorized(claim, response)
            } catch {
                try await handleExchangeFailure(claim, error)
            }
        } catch {
            logger.error("processing a callback failed", metadata: ["error": "\(error)", "inbox_row": "\(id)"])
            let retryAt = Date().addingTimeInterval(configuration.sweepInterval.timeInterval)
            _ = try? await storage.transaction { try $0.rescheduleInbox(id: id, at: retryAt, now: nil) }
        }
    }

    /// Runs `work` (the call to Cronofy) while renewing this node's claim on the row every third
    /// of the lease, so a slow call (a budget wait, a slow Cronofy) never lets another node take a
    /// live exchange over. A renewal that finds the claim gone (this node stalled past its lease
    /// and another took the row) stops renewing; the outcome is then settled by `holdsInboxLease`.
    private func holdingInboxLease<T: Sendable>(_ id: Int64, _ work: () async throws -> T) async throws -> T {
        let lease = configuration.clusterLeaseDuration
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                while true {
                    try? await Task.sleep(for: lease / 3)
                    if Task.isCancelled { return }
                    let until = Date().addingTimeInterval(lease.timeInterval)
                    do {
                        guard try await storage.transaction({ [nodeID] in
                            try $0.renewInboxLease(id: id, holder: nodeID, until: until)
                        }) else {
                            logger.warning("a callback's claim was taken over by another node", metadata: ["inbox_row": "\(id)"])
                            return
                        }
                    } catch {
                        // The database is away: the next renewal may still come in time.
                        logger.error("renewing a callback's claim failed", metadata: ["error": "\(error)", "inbox_row": "\(id)"])
                    }
                }
            }
            defer { group.cancelAll() }
            return try await work()
        }
    }

    /// Marks the row `exchanging`, or finishes it at once when it needs no exchange (an error
    /// callback, or a request superseded since).
    private func claimInboxRow(_ id: Int64) async throws -> InboxClaim? {
        let now = Date()
        let (claim, dropped) = try await storage.transaction { [self] transaction -> (InboxClaim?, String?) in
            guard let row = try transaction.openInboxRow(id: id, now: now) else { return (nil, nil) }
            guard let account = try transaction.account(rowID: row.accountRow), account.requestID == row.requestID else {
                try transaction.finishInbox(id: id, status: "done", now: now)
                return (nil, nil)
            }
            guard let envelope = row.codeEnvelope else {
                // An error decides the request only while no code for it has come in (a code
                // accepted later, or processed first by another worker, wins).
                let codeSeen = try transaction.inboxHoldsCode(requestID: row.requestID)
                var dropped: String?
                let open = account.status == .pending || account.status == .reauthorizing || account.status == .failed
                    || (account.isRenewal && account.renewalStatus == "pending")
                if !codeSeen, open {
                    let failure = row.error ?? AccountError(error: "unknown_error", errorKey: nil, errorDescription: nil)
                    dropped = try failAccount(transaction, rowID: account.rowID, requestID: row.requestID, failure, now: now)
                }
                try transaction.finishInbox(id: id, status: "done", now: now)
                return (nil, dropped)
            }
            try transaction.markExchanging(id: id, holder: nodeID,
                                           until: now.addingTimeInterval(configuration.clusterLeaseDuration.timeInterval), now: now)
            return (InboxClaim(id: id, requestID: row.requestID, codeEnvelope: envelope,
                               wasExchanging: row.status == "exchanging", account: account), nil)
        }
        if let dropped { vault.cache.invalidate(dropped) }
        return claim
    }

    private func storeAuthorized(_ claim: InboxClaim, _ response: TokenResponse) async throws {
        let now = Date()
        let rowKey = String(claim.account.rowID)
        let access = try secrets.seal(response.accessToken, table: "accounts", row: rowKey, column: "access_token")
        let refresh = try response.refreshToken.map { try secrets.seal($0, table: "accounts", row: rowKey, column: "refresh_token") }
        let expiresAt = now.addingTimeInterval(TimeInterval(response.expiresIn))
        let scope = response.scope.map(Scope.normalized) ?? claim.account.requestScope
        let profile = response.linkingProfile.map {
            AccountProfile(providerName: $0.providerName, profileID: $0.profileID, profileName: $0.profileName,
                           providerService: $0.providerService)
        }
        let profileJSON = try profile.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let accountID = response.accountID ?? response.sub
        let sub = response.sub ?? response.accountID
        let keyID = secrets.keyring.primaryKeyID
        let ticket = vault.cache.ticket()
        let write = AuthorizationWrite(rowID: claim.account.rowID, requestID: claim.requestID, accessToken: access,
                                       refreshToken: refresh, keyID: keyID, expiresAt: expiresAt, scope: scope,
                                       accountID: accountID, sub: sub, profileJSON: profileJSON, now: now)
        let stored = try await storage.transaction { transaction -> Bool in
            let updated = try transaction.storeAuthorization(write)
            if updated {
                var data: [String: JSONValue] = ["scope": .string(scope)]
                if let accountID { data["account_id"] = .string(accountID) }
                if claim.account.isRenewal { data["renewal"] = .bool(true) }
                try transaction.appendEvent(.accountAuthorized, serviceAccountID: claim.account.requestServiceAccountID,
                                            email: claim.account.email, data: data, at: now)
            }
            try transaction.finishInbox(id: claim.id, status: "done", now: now)
            return updated
        }
        guard stored else {
            logger.warning("tokens for a superseded request discarded", metadata: ["email": "\(claim.account.email)"])
            return
        }
        vault.cache.replace(claim.account.emailKey, AccessToken(accessToken: response.accessToken, expiresAt: expiresAt, scope: scope,
                                                          accountID: accountID, sub: sub, apiURL: apiURL), ticket: ticket)
        logger.info("account authorized", metadata: ["email": "\(claim.account.email)",
                                                     "service_account_id": "\(claim.account.serviceAccountID ?? "-")"])
    }

    private func handleExchangeFailure(_ claim: InboxClaim, _ failure: any Error) async throws {
        let now = Date()
        let cronofyError = failure as? CronofyError
        if case .invalidGrant? = cronofyError, claim.wasExchanging, let serviceAccountID = claim.account.requestServiceAccountID {
            // The code was spent by an attempt whose result we never stored: ask again (a renewal
            // stays one, and keeps serving the current grant).
            let prepared = try await storage.transaction { [self] transaction -> PreparedRequest? in
                // Only while the row is still this node's: if this node stalled past its lease, the
                // node that took the row over owns the exchange and any re-request of it.
                guard try transaction.holdsInboxLease(id: claim.id, holder: nodeID) else { return nil }
                let request = try prepareRequest(transaction, email: claim.account.email, scope: claim.account.requestScope,
                                                 serviceAccountID: serviceAccountID, now: now, reason: "recovery")
                return request
            }
            guard let prepared else {
                logger.warning("a spent code is left to the node that took it over", metadata: ["email": "\(claim.account.email)"])
                return
            }
            if !prepared.renewal { vault.cache.invalidate(claim.account.emailKey) }
            logger.warning("spent code recovered by a new request", metadata: ["email": "\(claim.account.email)"])
            await send([prepared])
            return
        }
        if let cronofyError, cronofyError.isTransient {
            let attempts = try await storage.read { try $0.inboxAttempts(id: claim.id) }
            var retryAfter: Duration?
            if case .rateLimited(let after) = cronofyError { retryAfter = after }
            let delay = Backoff.delay(failures: attempts, cap: configuration.maxBackoff, retryAfter: retryAfter)
            try await storage.transaction {
                try $0.rescheduleInbox(id: claim.id, at: now.addingTimeInterval(delay.timeInterval), now: now)
            }
            logger.warning("code exchange failed, will retry", metadata: ["email": "\(claim.account.email)", "error": "\(failure)"])
            return
        }
        let description: String
        if case .invalidGrant? = cronofyError {
            description = "Cronofy refused the authorization code"
        } else {
            description = Self.clip("the code exchange failed: \(failure)")
        }
        let dropped = try await storage.transaction { [self] transaction -> String? in
            let key = try failAccount(transaction, rowID: claim.account.rowID, requestID: claim.requestID,
                                      AccountError(error: "exchange_failed", errorKey: nil, errorDescription: description), now: now)
            try transaction.finishInbox(id: claim.id, status: "failed", now: now)
            return key
        }
        if let dropped { vault.cache.invalidate(dropped) }
        logger.warning("code exchange refused", metadata: ["email": "\(claim.account.email)", "error": "\(failure)"])
    }
}
