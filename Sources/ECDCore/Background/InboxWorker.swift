import ECDCronofy
import ECDSQLite
import Foundation

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
extension EnterpriseConnect {
    func runInboxWorker() async {
        do {
            // A previous process died mid-exchange: those rows are due now, not after their claim expires.
            try await database.asyncWrite { connection in
                try connection.execute("UPDATE callback_inbox SET next_attempt_at = NULL WHERE status = 'exchanging'")
            }
        } catch {
            logger.error("inbox recovery failed", metadata: ["error": "\(error)"])
        }
        while !stopping {
            let due: [Int64]
            do {
                due = try await database.asyncRead { connection in
                    try connection.query(
                        """
                        SELECT id FROM callback_inbox WHERE status IN ('received', 'exchanging')
                            AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT 256
                        """, [Date()]).map { try $0.get("id") }
                }
            } catch {
                logger.error("reading the callback inbox failed", metadata: ["error": "\(error)"])
                due = []
            }
            if due.isEmpty {
                await inboxSignal.wait(timeout: configuration.sweepInterval)
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
                let response = try await cronofy.exchangeCode(code, redirectURI: callbackURL, sendCallbackURL: true)
                try await storeAuthorized(claim, response)
            } catch {
                try await handleExchangeFailure(claim, error)
            }
        } catch {
            logger.error("processing a callback failed", metadata: ["error": "\(error)", "inbox_row": "\(id)"])
            let retryAt = Date().addingTimeInterval(configuration.sweepInterval.timeInterval)
            _ = try? await database.asyncWrite { connection in
                try connection.execute("UPDATE callback_inbox SET next_attempt_at = ? WHERE id = ?", [retryAt, id])
            }
        }
    }

    /// Marks the row `exchanging`, or finishes it at once when it needs no exchange (an error
    /// callback, or a request superseded since).
    private func claimInboxRow(_ id: Int64) async throws -> InboxClaim? {
        let now = Date()
        let (claim, dropped) = try await database.asyncWrite { [self] connection -> (InboxClaim?, String?) in
            guard let row = try connection.queryOne(
                """
                SELECT request_id, account_row, code, error, error_key, error_description, status FROM callback_inbox
                WHERE id = ? AND status IN ('received', 'exchanging')
                """, [id]) else { return (nil, nil) }
            let requestID: String = try row.get("request_id")
            guard let account = try AccountRecord.load(connection, rowID: try row.get("account_row")),
                  account.requestID == requestID else {
                try finishInbox(connection, id, status: "done", now: now)
                return (nil, nil)
            }
            guard let envelope: [UInt8] = row.optional("code") else {
                // An error decides the request only while no code for it has come in (a code
                // accepted later, or processed first by another worker, wins).
                let codeSeen = try connection.queryOne(
                    "SELECT 1 AS one FROM callback_inbox WHERE request_id = ? AND kind = 'code'", [requestID]) != nil
                var dropped: String?
                let open = account.status == .pending || account.status == .reauthorizing || account.status == .failed
                    || (account.isRenewal && account.renewalStatus == "pending")
                if !codeSeen, open {
                    let failure = AccountError(error: (row.optional("error") as String?) ?? "unknown_error",
                                               errorKey: row.optional("error_key"), errorDescription: row.optional("error_description"))
                    dropped = try failAccount(connection, rowID: account.rowID, requestID: requestID, failure, now: now)
                }
                try finishInbox(connection, id, status: "done", now: now)
                return (nil, dropped)
            }
            let previous: String = try row.get("status")
            try connection.execute(
                """
                UPDATE callback_inbox SET status = 'exchanging', attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
                WHERE id = ?
                """, [now.addingTimeInterval(120), now, id])
            return (InboxClaim(id: id, requestID: requestID, codeEnvelope: envelope,
                               wasExchanging: previous == "exchanging", account: account), nil)
        }
        if let dropped { cache.invalidate(dropped) }
        return claim
    }

    func finishInbox(_ connection: Connection, _ id: Int64, status: String, now: Date) throws {
        try connection.execute(
            "UPDATE callback_inbox SET status = ?, code = NULL, next_attempt_at = NULL, updated_at = ? WHERE id = ?",
            [status, now, id])
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
        let ticket = cache.ticket()
        let stored = try await database.asyncWrite { [self] connection -> Bool in
            try connection.execute(
                """
                UPDATE accounts SET status = 'active', access_token = ?, refresh_token = ?, key_id = ?, expires_at = ?,
                    scope = ?, account_id = ?, sub = ?, profile = ?, error = NULL, error_key = NULL,
                    error_description = NULL, state = NULL, at_risk = 0, refresh_failures = 0, next_attempt_at = NULL,
                    lease_owner = NULL, lease_until = NULL, authorized_at = ?, updated_at = ?,
                    service_account_id = CASE WHEN status = 'active' AND renewal_status IS NOT NULL
                        THEN COALESCE(renewal_service_account_id, service_account_id) ELSE service_account_id END,
                    renewal_status = NULL, renewal_scope = NULL, renewal_service_account_id = NULL,
                    renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
                WHERE id = ? AND request_id = ?
                """,
                [access, refresh, keyID, expiresAt, scope, accountID, sub, profileJSON, now, now,
                 claim.account.rowID, claim.requestID])
            let updated = connection.changes > 0
            if updated {
                var data: [String: JSONValue] = ["scope": .string(scope)]
                if let accountID { data["account_id"] = .string(accountID) }
                if claim.account.isRenewal { data["renewal"] = .bool(true) }
                try EventLog.append(connection, .accountAuthorized, serviceAccountID: claim.account.requestServiceAccountID,
                                    email: claim.account.email, data: data, at: now)
            }
            try finishInbox(connection, claim.id, status: "done", now: now)
            return updated
        }
        guard stored else {
            logger.warning("tokens for a superseded request discarded", metadata: ["email": "\(claim.account.email)"])
            return
        }
        cache.replace(claim.account.emailKey, AccessToken(accessToken: response.accessToken, expiresAt: expiresAt, scope: scope,
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
            let prepared = try await database.asyncWrite { [self] connection -> PreparedRequest in
                let request = try prepareRequest(connection, email: claim.account.email, scope: claim.account.requestScope,
                                                 serviceAccountID: serviceAccountID, now: now, reason: "recovery")
                return request
            }
            if !prepared.renewal { cache.invalidate(claim.account.emailKey) }
            logger.warning("spent code recovered by a new request", metadata: ["email": "\(claim.account.email)"])
            await send([prepared])
            return
        }
        if let cronofyError, cronofyError.isTransient {
            let attempts = try await database.asyncRead { connection in
                Int(try connection.queryOne("SELECT attempts FROM callback_inbox WHERE id = ?", [claim.id])?
                    .optional("attempts") as Int64? ?? 1)
            }
            var retryAfter: Duration?
            if case .rateLimited(let after) = cronofyError { retryAfter = after }
            let delay = Backoff.delay(failures: attempts, cap: configuration.maxBackoff, retryAfter: retryAfter)
            try await database.asyncWrite { connection in
                try connection.execute("UPDATE callback_inbox SET next_attempt_at = ?, updated_at = ? WHERE id = ?",
                                       [now.addingTimeInterval(delay.timeInterval), now, claim.id])
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
        let dropped = try await database.asyncWrite { [self] connection -> String? in
            let key = try failAccount(connection, rowID: claim.account.rowID, requestID: claim.requestID,
                                      AccountError(error: "exchange_failed", errorKey: nil, errorDescription: description), now: now)
            try finishInbox(connection, claim.id, status: "failed", now: now)
            return key
        }
        if let dropped { cache.invalidate(dropped) }
        logger.warning("code exchange refused", metadata: ["email": "\(claim.account.email)", "error": "\(failure)"])
    }
}
