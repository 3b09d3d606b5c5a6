import ECDPostgres
import FoundationEssentials

/// Delegated-access requests and their state changes, for PostgreSQL.
extension PostgresStore {
    /// The status read locks the row (`FOR UPDATE`), so the renewal-or-reset decision holds until
    /// the commit; a row that does not exist yet is settled by the upsert's `ON CONFLICT`.
    func writeRequest(_ write: RequestWrite) throws -> (rowID: Int64, renewal: Bool) {
        let renewal = try accountStatus(emailKey: write.emailKey) == AccountStatus.active.rawValue
        let row: PostgresRow?
        if renewal {
            // The tokens, scope, service account, refresh lease and refresh backoff of the active
            // grant stay; the send's claim and retries have their own columns.
            row = try connection.queryOne(
                """
                UPDATE accounts SET request_id = $1, state_hash = $2, request_sent_at = NULL, renewal_next_attempt_at = $3,
                    renewal_send_failures = 0, requested_at = $4, renewal_status = 'pending', renewal_scope = $5,
                    renewal_service_account_id = $6, renewal_error = NULL, renewal_error_key = NULL,
                    renewal_error_description = NULL, updated_at = $4
                WHERE email_key = $7 RETURNING id
                """,
                [write.requestID, write.stateHash, write.sendDeadline, write.now, write.scope, write.serviceAccountID,
                 write.emailKey])
        } else {
            row = try connection.queryOne(
                """
                INSERT INTO accounts (email, email_key, service_account_id, status, scope, request_id, state_hash,
                    requested_at, next_attempt_at, updated_at)
                VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $7)
                ON CONFLICT (email_key) DO UPDATE SET
                    email = excluded.email, service_account_id = excluded.service_account_id, status = 'pending',
                    scope = excluded.scope, request_id = excluded.request_id, state_hash = excluded.state_hash,
                    request_sent_at = NULL, error = NULL, error_key = NULL, error_description = NULL,
                    access_token = NULL, refresh_token = NULL, key_id = NULL, expires_at = NULL,
                    refresh_failures = 0, next_attempt_at = excluded.next_attempt_at, lease_owner = NULL,
                    lease_until = NULL, at_risk = 0, requested_at = excluded.requested_at, updated_at = excluded.updated_at,
                    renewal_status = NULL, renewal_scope = NULL, renewal_service_account_id = NULL,
                    renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
                RETURNING id
                """,
                [write.email, write.emailKey, write.serviceAccountID, write.scope, write.requestID, write.stateHash, write.now,
                 write.sendDeadline])
        }
        guard let row else { throw CoreError.notFound("account \(write.email)") }
        return (try row.get("id"), renewal)
    }

    func attachRequestState(rowID: Int64, sealedState: [UInt8], callbackURL: String, attempt: Int) throws {
        try connection.execute("UPDATE accounts SET state = $1, callback_url = $2, callback_attempt = $3 WHERE id = $4",
                               [sealedState, callbackURL, attempt, rowID])
    }

    func claimSend(rowID: Int64, renewal: Bool, until: Date) throws {
        try connection.execute(
            "UPDATE accounts SET \(renewal ? "renewal_next_attempt_at" : "next_attempt_at") = $1 WHERE id = $2", [until, rowID])
    }

    func markSent(rowID: Int64, requestID: String, now: Date) throws {
        try connection.execute(
            """
            UPDATE accounts SET request_sent_at = $1, state = NULL,
                next_attempt_at = CASE WHEN status = 'active' THEN next_attempt_at END,
                refresh_failures = CASE WHEN status = 'active' THEN refresh_failures ELSE 0 END,
                renewal_next_attempt_at = NULL, renewal_send_failures = 0
            WHERE id = $2 AND request_id = $3
            """, [now, rowID, requestID])
    }

    /// The delay is the caller's function of the count: the row is read `FOR UPDATE` (whatever
    /// `locking` says), so the count cannot move before the one write.
    func deferSend(rowID: Int64, requestID: String, now: Date, delay: (Int) -> Duration) throws {
        guard let row = try connection.queryOne(
            "SELECT status = 'active' AS renewal, refresh_failures, renewal_send_failures FROM accounts WHERE id = $1 FOR UPDATE",
            [rowID]) else { return }
        let renewal = row.optional("renewal") == true
        let (failuresColumn, nextColumn) = renewal
            ? ("renewal_send_failures", "renewal_next_attempt_at") : ("refresh_failures", "next_attempt_at")
        let failures = Int(row.optional(failuresColumn) as Int64? ?? 0) + 1
        try connection.execute(
            "UPDATE accounts SET \(failuresColumn) = $1, \(nextColumn) = $2 WHERE id = $3 AND request_id = $4",
            [failures, now.addingTimeInterval(delay(failures).timeInterval), rowID, requestID])
    }

    func failRequest(rowID: Int64, requestID: String?, status: AccountStatus, failure: AccountError,
                     now: Date) throws -> AccountIdentity? {
        guard let row = try connection.queryOne(
            """
            UPDATE accounts SET status = $1, error = $2, error_key = $3, error_description = $4, state = NULL,
                access_token = NULL, refresh_token = NULL, key_id = NULL, expires_at = NULL, updated_at = $5
            WHERE id = $6 AND ($7::text IS NULL OR request_id = $7)
            RETURNING email, email_key, service_account_id
            """,
            [status.rawValue, failure.error, failure.errorKey, failure.errorDescription, now, rowID, requestID])
        else { return nil }
        return AccountIdentity(rowID: rowID, email: try row.get("email"), emailKey: try row.get("email_key"),
                               serviceAccountID: row.optional("service_account_id"))
    }

    func failRenewal(rowID: Int64, requestID: String?, failure: AccountError, now: Date) throws -> RenewalIdentity? {
        guard let row = try connection.queryOne(
            """
            UPDATE accounts SET renewal_status = 'failed', renewal_error = $1, renewal_error_key = $2,
                renewal_error_description = $3, state = NULL, updated_at = $4
            WHERE id = $5 AND status = 'active' AND renewal_status = 'pending' AND ($6::text IS NULL OR request_id = $6)
            RETURNING email, renewal_scope, renewal_service_account_id
            """,
            [failure.error, failure.errorKey, failure.errorDescription, now, rowID, requestID]) else { return nil }
        return RenewalIdentity(email: try row.get("email"), scope: row.optional("renewal_scope"),
                               serviceAccountID: row.optional("renewal_service_account_id"))
    }

    func reauthorizationCandidate(rowID: Int64, spentRefreshToken: [UInt8]?) throws -> ReauthorizationCandidate? {
        try connection.queryOne(
            """
            SELECT a.email, a.email_key, a.scope, a.service_account_id, a.reauthorize_requested_at, s.status AS service_status
            FROM accounts a JOIN service_accounts s ON s.id = a.service_account_id
            WHERE a.id = $1 AND a.status = 'active' AND a.refresh_token IS NOT DISTINCT FROM $2::bytea
            \(locking ? "FOR UPDATE OF a" : "")
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
            UPDATE accounts SET status = 'reauthorizing', refresh_token = NULL, request_id = $1, state_hash = $2,
                state = $3, request_sent_at = NULL, error = NULL, error_key = NULL, error_description = NULL,
                refresh_failures = 0, next_attempt_at = $4, lease_owner = NULL, lease_until = NULL,
                reauthorize_requested_at = $5, requested_at = $5, callback_url = $6, callback_attempt = 1, updated_at = $5,
                renewal_status = NULL, renewal_scope = NULL, renewal_service_account_id = NULL,
                renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
            WHERE id = $7
            """, [write.requestID, write.stateHash, write.sealedState, write.sendDeadline, write.now, write.callbackURL,
                  write.rowID])
    }

    func clearInbox(accountRow: Int64) throws {
        try connection.execute("DELETE FROM callback_inbox WHERE account_row = $1", [accountRow])
    }
}
