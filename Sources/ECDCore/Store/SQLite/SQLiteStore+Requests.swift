import ECDSQLite
import FoundationEssentials

/// Delegated-access requests and their state changes, for SQLite.
extension SQLiteStore {
    func writeRequest(_ write: RequestWrite) throws -> (rowID: Int64, renewal: Bool) {
        let renewal = try accountStatus(emailKey: write.emailKey) == AccountStatus.active.rawValue
        if renewal {
            // The tokens, scope, service account, refresh lease and refresh backoff of the active
            // grant stay; the send's claim and retries have their own columns.
            try connection.execute(
                """
                UPDATE accounts SET request_id = ?, state_hash = ?, request_sent_at = NULL, renewal_next_attempt_at = ?,
                    renewal_send_failures = 0, requested_at = ?, renewal_status = 'pending', renewal_scope = ?, renewal_service_account_id = ?,
                    renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL, updated_at = ?
                WHERE email_key = ?
                """,
                [write.requestID, write.stateHash, write.sendDeadline, write.now, write.scope, write.serviceAccountID,
                 write.now, write.emailKey])
        } else {
            try connection.execute(
                """
                INSERT INTO accounts (email, email_key, service_account_id, status, scope, request_id, state_hash,
                    requested_at, next_attempt_at, updated_at)
                VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)
                ON CONFLICT(email_key) DO UPDATE SET
                    email = excluded.email, service_account_id = excluded.service_account_id, status = 'pending',
                    scope = excluded.scope, request_id = excluded.request_id, state_hash = excluded.state_hash,
                    request_sent_at = NULL, error = NULL, error_key = NULL, error_description = NULL,
                    access_token = NULL, refresh_token = NULL, key_id = NULL, expires_at = NULL,
                    refresh_failures = 0, next_attempt_at = excluded.next_attempt_at, lease_owner = NULL,
                    lease_until = NULL, at_risk = 0, requested_at = excluded.requested_at, updated_at = excluded.updated_at,
                    renewal_status = NULL, renewal_scope = NULL, renewal_service_account_id = NULL,
                    renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
                """,
                [write.email, write.emailKey, write.serviceAccountID, write.scope, write.requestID, write.stateHash, write.now,
                 write.sendDeadline, write.now])
        }
        guard let row = try connection.queryOne("SELECT id FROM accounts WHERE email_key = ?", [write.emailKey]) else {
            throw CoreError.notFound("account \(write.email)")
        }
        return (try row.get("id"), renewal)
    }

    func attachRequestState(rowID: Int64, sealedState: [UInt8], callbackURL: String, attempt: Int) throws {
        try connection.execute("UPDATE accounts SET state = ?, callback_url = ?, callback_attempt = ? WHERE id = ?",
                               [sealedState, callbackURL, attempt, rowID])
    }

    func claimSend(rowID: Int64, renewal: Bool, until: Date) throws {
        try connection.execute("UPDATE accounts SET \(renewal ? "renewal_next_attempt_at" : "next_attempt_at") = ? WHERE id = ?",
                               [until, rowID])
    }

    /// An active account's `next_attempt_at` and `refresh_failures` are its grant's refresh
    /// backoff: a renewal's send claim and retries live in the `renewal_` columns.
    func markSent(rowID: Int64, requestID: String, now: Date) throws {
        try connection.execute(
            """
            UPDATE accounts SET request_sent_at = ?, state = NULL,
                next_attempt_at = CASE WHEN status = 'active' THEN next_attempt_at END,
                refresh_failures = CASE WHEN status = 'active' THEN refresh_failures ELSE 0 END,
                renewal_next_attempt_at = NULL, renewal_send_failures = 0
            WHERE id = ? AND request_id = ?
            """, [now, rowID, requestID])
    }

    func deferSend(rowID: Int64, requestID: String, now: Date, delay: (Int) -> Duration) throws {
        guard let row = try connection.queryOne(
            "SELECT status = 'active' AS renewal, refresh_failures, renewal_send_failures FROM accounts WHERE id = ?",
            [rowID]) else { return }
        let renewal = (row.optional("renewal") as Int64?) == 1
        let (failuresColumn, nextColumn) = renewal
            ? ("renewal_send_failures", "renewal_next_attempt_at") : ("refresh_failures", "next_attempt_at")
        let failures = Int(row.optional(failuresColumn) as Int64? ?? 0) + 1
        try connection.execute(
            "UPDATE accounts SET \(failuresColumn) = ?, \(nextColumn) = ? WHERE id = ? AND request_id = ?",
            [failures, now.addingTimeInterval(delay(failures).timeInterval), rowID, requestID])
    }

    func failRequest(rowID: Int64, requestID: String?, status: AccountStatus, failure: AccountError,
                     now: Date) throws -> AccountIdentity? {
        try connection.execute(
            """
            UPDATE accounts SET status = ?, error = ?, error_key = ?, error_description = ?, state = NULL,
                access_token = NULL, refresh_token = NULL, key_id = NULL, expires_at = NULL, updated_at = ?
            WHERE id = ? AND (? IS NULL OR request_id = ?)
            """,
            [status.rawValue, failure.error, failure.errorKey, failure.errorDescription, now, rowID, requestID, requestID])
        guard connection.changes > 0,
              let row = try connection.queryOne("SELECT email, email_key, service_account_id FROM accounts WHERE id = ?", [rowID])
        else { return nil }
        return AccountIdentity(rowID: rowID, email: try row.get("email"), emailKey: try row.get("email_key"),
                               serviceAccountID: row.optional("service_account_id"))
    }

    func failRenewal(rowID: Int64, requestID: String?, failure: AccountError, now: Date) throws -> RenewalIdentity? {
        try connection.execute(
            """
            UPDATE accounts SET renewal_status = 'failed', renewal_error = ?, renewal_error_key = ?,
                renewal_error_description = ?, state = NULL, updated_at = ?
            WHERE id = ? AND status = 'active' AND renewal_status = 'pending' AND (? IS NULL OR request_id = ?)
            """,
            [failure.error, failure.errorKey, failure.errorDescription, now, rowID, requestID, requestID])
        guard connection.changes > 0,
              let row = try connection.queryOne(
                  "SELECT email, renewal_scope, renewal_service_account_id FROM accounts WHERE id = ?", [rowID]) else { return nil }
        return RenewalIdentity(email: try row.get("email"), scope: row.optional("renewal_scope"),
                               serviceAccountID: row.optional("renewal_service_account_id"))
    }

    func reauthorizationCandidate(rowID: Int64, spentRefreshToken: [UInt8]?) throws -> ReauthorizationCandidate? {
        try connection.queryOne(
            """
            SELECT a.email, a.email_key, a.scope, a.service_account_id, a.reauthorize_requested_at, s.status AS service_status
            FROM accounts a JOIN service_accounts s ON s.id = a.service_account_id
            WHERE a.id = ? AND a.status = 'active' AND a.refresh_token IS ?
            """, [rowID, spentRefreshToken]
        ).map { row in
            ReauthorizationCandidate(email: try row.get("email"), emailKey: try row.get("email_key"), scope: try row.get("scope"),
                                     serviceAccountID: try row.get("service_account_id"),
                                     lastReauthorizationAt: row.optional("reauthorize_requested_at"),
                                     serviceAccountStatus: row.optional("service_status"))
        }
    }

    /// The access token stays (it is served while it lasts); the dead refresh token goes.
    func beginReauthorization(_ write: ReauthorizationWrite) throws {
        try connection.execute(
            """
            UPDATE accounts SET status = 'reauthorizing', refresh_token = NULL, request_id = ?, state_hash = ?,
                state = ?, request_sent_at = NULL, error = NULL, error_key = NULL, error_description = NULL,
                refresh_failures = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL,
                reauthorize_requested_at = ?, requested_at = ?, callback_url = ?, callback_attempt = 1, updated_at = ?,
                renewal_status = NULL, renewal_scope = NULL, renewal_service_account_id = NULL,
                renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
            WHERE id = ?
            """, [write.requestID, write.stateHash, write.sealedState, write.sendDeadline, write.now, write.now,
                  write.callbackURL, write.now, write.rowID])
    }

    func clearInbox(accountRow: Int64) throws {
        try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [accountRow])
    }

    // MARK: Connect links, OAuth states, service accounts

    func purgeExpiredConnectState(before cutoff: Date) throws {
        try connection.execute("DELETE FROM connect_links WHERE expires_at < ?", [cutoff])
        try connection.execute("DELETE FROM oauth_states WHERE expires_at < ?", [cutoff])
    }

    func insertConnectLink(_ link: ConnectLinkWrite) throws {
        try connection.execute(
            """
            INSERT INTO connect_links (token_hash, label, scope, delegated_scope, expires_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """, [link.tokenHash, link.label, link.scope, link.delegatedScope, link.expiresAt, link.createdAt])
    }

    func spendConnectLink(hash: [UInt8], now: Date) throws -> ConnectLinkRow? {
        try connection.execute(
            "UPDATE connect_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?", [now, hash, now])
        guard connection.changes > 0 else { return nil }
        return try connectLink(hash: hash)
    }

    func insertOAuthState(_ state: OAuthStateWrite) throws {
        try connection.execute(
            """
            INSERT INTO oauth_states (state_hash, nonce_hash, link_hash, label, scope, delegated_scope, expires_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [state.stateHash, state.nonceHash, state.linkHash, state.label, state.scope, state.delegatedScope, state.expiresAt,
             state.createdAt])
    }

    func spendOAuthState(hash: [UInt8], now: Date) throws -> Bool {
        try connection.execute("UPDATE oauth_states SET used_at = ? WHERE state_hash = ? AND used_at IS NULL", [now, hash])
        return connection.changes > 0
    }

    /// A reconnect is the admin's word: it ends a revocation still retried in the background
    /// (`pending`, whose outcome is written only while the mark stands) in the same statement, so
    /// neither the retry nor an attempt in flight revokes the new connection.
    func upsertServiceAccount(_ write: ServiceAccountWrite) throws {
        try connection.execute(
            """
            INSERT INTO service_accounts (id, email, domain, provider, label, status, scope, delegated_scope,
                access_token, refresh_token, key_id, expires_at, connected_at, updated_at)
            VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET email = COALESCE(excluded.email, email),
                domain = COALESCE(excluded.domain, domain), provider = COALESCE(excluded.provider, provider),
                label = COALESCE(excluded.label, label), status = 'active', scope = excluded.scope,
                delegated_scope = excluded.delegated_scope, access_token = excluded.access_token,
                refresh_token = COALESCE(excluded.refresh_token, refresh_token), key_id = excluded.key_id,
                expires_at = excluded.expires_at, refresh_failures = 0, next_attempt_at = NULL,
                lease_owner = NULL, lease_until = NULL, revoke_state = NULL, revoke_attempts = 0,
                revoke_next_at = NULL, updated_at = excluded.updated_at
            """,
            [write.id, write.email, write.domain, write.provider, write.label, write.scope, write.delegatedScope,
             write.accessToken, write.refreshToken, write.keyID, write.expiresAt, write.now, write.now])
    }

    func accountsToAskAgain(serviceAccountID id: String) throws -> [(email: String, scope: String)] {
        try connection.query(
            """
            SELECT email, scope FROM accounts WHERE service_account_id = ? AND at_risk = 1
                AND status IN ('reauthorization_required', 'failed')
            """, [id]).map { (try $0.get("email"), try $0.get("scope")) }
    }

    func clearAtRisk(serviceAccountID id: String) throws {
        try connection.execute("UPDATE accounts SET at_risk = 0 WHERE service_account_id = ?", [id])
    }
}
