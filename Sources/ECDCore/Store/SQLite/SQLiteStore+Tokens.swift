import ECDSQLite
import FoundationEssentials

/// Leases, tokens and revocation, for SQLite.
extension SQLiteStore {
    func acquireLease(_ owner: TokenOwner, holder: String, until: Date, now: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE \(owner.table) SET lease_owner = ?, lease_until = ?
            WHERE id = ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)
            """, [holder, until, owner.keyValue, now, holder])
        return connection.changes > 0
    }

    func releaseLease(_ owner: TokenOwner, holder: String) throws {
        try connection.execute(
            "UPDATE \(owner.table) SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
            [owner.keyValue, holder])
    }

    func backOffRefresh(_ owner: TokenOwner, failures: Int, nextAt: Date) throws {
        try connection.execute(
            """
            UPDATE \(owner.table) SET refresh_failures = ?, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
            WHERE id = ?
            """, [failures, nextAt, owner.keyValue])
    }

    func clearAllLeases() throws -> Int {
        var cleared = 0
        for table in ["service_accounts", "accounts"] {
            try connection.execute("UPDATE \(table) SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL")
            cleared += connection.changes
        }
        try connection.execute("DELETE FROM cluster_leases")
        return cleared + connection.changes
    }

    func acquireClusterLease(_ name: String, holder: String, until: Date, now: Date) throws -> Bool {
        try connection.execute(
            """
            INSERT INTO cluster_leases (name, owner, lease_until) VALUES (?, ?, ?)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
            WHERE cluster_leases.lease_until < ? OR cluster_leases.owner = excluded.owner
            """, [name, holder, until, now])
        return connection.changes > 0
    }

    func releaseClusterLease(_ name: String, holder: String) throws {
        try connection.execute("DELETE FROM cluster_leases WHERE name = ? AND owner = ?", [name, holder])
    }

    func storeRefreshedTokens(_ owner: TokenOwner, _ tokens: RefreshedTokens) throws -> Bool {
        try connection.execute(
            """
            UPDATE \(owner.table) SET access_token = ?, refresh_token = COALESCE(?, refresh_token), key_id = ?,
                expires_at = ?, scope = ?, refresh_failures = 0, next_attempt_at = NULL,
                lease_owner = NULL, lease_until = NULL, updated_at = ?
            WHERE id = ? AND status = 'active'
            """,
            [tokens.accessToken, tokens.refreshToken, tokens.keyID, tokens.expiresAt, tokens.scope, tokens.now, owner.keyValue])
        return connection.changes > 0
    }

    func endGrant(_ owner: TokenOwner, spentRefreshToken: [UInt8]?, now: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE \(owner.table) SET status = 'reauthorization_required', access_token = NULL, refresh_token = NULL,
                key_id = NULL, expires_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ?
            WHERE id = ? AND status = 'active' AND refresh_token IS ?
            """, [now, owner.keyValue, spentRefreshToken])
        return connection.changes > 0
    }

    func markAccountsAtRisk(serviceAccountID id: String) throws -> [String] {
        try connection.execute(
            "UPDATE accounts SET at_risk = 1 WHERE service_account_id = ? AND status IN ('active', 'pending', 'reauthorizing')", [id])
        return try connection.query(
            "SELECT email FROM accounts WHERE service_account_id = ? AND at_risk = 1 ORDER BY email_key", [id]
        ).compactMap { $0.optional("email") as String? }
    }

    func touchLastUsed(emailKeys: [String], at now: Date) throws {
        for key in emailKeys {
            try connection.execute("UPDATE accounts SET last_used_at = ? WHERE email_key = ?", [now, key])
        }
    }

    func storeAuthorization(_ write: AuthorizationWrite) throws -> Bool {
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
            [write.accessToken, write.refreshToken, write.keyID, write.expiresAt, write.scope, write.accountID, write.sub,
             write.profileJSON, write.now, write.now, write.rowID, write.requestID])
        return connection.changes > 0
    }

    // MARK: Revocation

    /// Everything a revoked account loses: its tokens, its request (a callback for it is then a
    /// 404) and any renewal.
    static let eraseAccountColumns = """
        access_token = NULL, refresh_token = NULL, key_id = NULL, expires_at = NULL, state = NULL, request_id = NULL,
            state_hash = NULL, lease_owner = NULL, lease_until = NULL, renewal_status = NULL, renewal_scope = NULL,
            renewal_service_account_id = NULL, renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
        """

    func beginRevocation(_ owner: TokenOwner, retryAt: Date) throws {
        try connection.execute("UPDATE \(owner.table) SET revoke_state = 'pending', revoke_next_at = ? WHERE id = ?",
                               [retryAt, owner.keyValue])
    }

    func cancelRenewal(rowID: Int64) throws {
        try connection.execute(
            """
            UPDATE accounts SET request_id = NULL, state = NULL, state_hash = NULL, renewal_next_attempt_at = NULL,
                renewal_status = NULL, renewal_scope = NULL, renewal_service_account_id = NULL,
                renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
            WHERE id = ?
            """, [rowID])
        try clearInbox(accountRow: rowID)
    }

    func confirmAccountRevocation(rowID: Int64, now: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE accounts SET status = 'revoked', \(Self.eraseAccountColumns), revoke_state = NULL,
                revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
            WHERE id = ? AND (revoke_state = 'pending' OR status = 'revoked')
            """, [now, rowID])
        guard connection.changes > 0 else { return false }
        try clearInbox(accountRow: rowID)
        return true
    }

    func eraseAccountLocally(rowID: Int64, now: Date) throws {
        try connection.execute(
            """
            UPDATE accounts SET status = 'revoked', \(Self.eraseAccountColumns),
                revoke_state = CASE WHEN status != 'revoked' OR revoke_state = 'pending' THEN 'local_only' ELSE revoke_state END,
                revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
            WHERE id = ?
            """, [now, rowID])
        try clearInbox(accountRow: rowID)
    }

    func confirmServiceAccountRevocation(id: String, now: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE service_accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                expires_at = NULL, lease_owner = NULL, lease_until = NULL, revoke_state = NULL,
                revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
            WHERE id = ? AND (revoke_state = 'pending' OR status = 'revoked')
            """, [now, id])
        return connection.changes > 0
    }

    func eraseServiceAccountLocally(id: String, now: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE service_accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                expires_at = NULL, lease_owner = NULL, lease_until = NULL,
                revoke_state = CASE WHEN status != 'revoked' OR revoke_state = 'pending' THEN 'local_only' ELSE revoke_state END,
                revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
            WHERE id = ?
            """, [now, id])
        return connection.changes > 0
    }

    func revokeAccountOfServiceAccount(rowID: Int64, mark: String?, now: Date) throws {
        try connection.execute(
            """
            UPDATE accounts SET status = 'revoked', \(Self.eraseAccountColumns), revoke_state = ?,
                revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
            WHERE id = ?
            """, [mark, now, rowID])
        try clearInbox(accountRow: rowID)
    }

    func unrevokedAccounts(serviceAccountID id: String) throws -> [AccountIdentity] {
        try connection.query(
            "SELECT id, email, email_key FROM accounts WHERE service_account_id = ? AND status != 'revoked'", [id]
        ).map { row in
            AccountIdentity(rowID: try row.get("id"), email: try row.get("email"), emailKey: try row.get("email_key"),
                            serviceAccountID: id)
        }
    }

    func recordRevokeFailure(_ owner: TokenOwner, next: (Int) -> Date) throws -> (attempts: Int, nextAt: Date)? {
        let key = owner.keyValue
        guard let row = try connection.queryOne(
            "SELECT revoke_attempts FROM \(owner.table) WHERE id = ? AND revoke_state = 'pending'", [key]) else { return nil }
        let attempts = Int(row.optional("revoke_attempts") as Int64? ?? 0) + 1
        let nextAt = next(attempts)
        try connection.execute(
            "UPDATE \(owner.table) SET revoke_attempts = ?, revoke_next_at = ? WHERE id = ? AND revoke_state = 'pending'",
            [attempts, nextAt, key])
        return (attempts, nextAt)
    }
}
