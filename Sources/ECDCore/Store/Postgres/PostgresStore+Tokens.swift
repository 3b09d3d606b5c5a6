import ECDPostgres
import FoundationEssentials

/// Leases, tokens and revocation, for PostgreSQL. Each decide-and-write is one conditional
/// statement: under READ COMMITTED a second writer of the same row waits for the first to commit
/// and then re-checks the WHERE clause against the row as committed, so only one of them wins.
extension PostgresStore {
    func acquireLease(_ owner: TokenOwner, holder: String, until: Date, now: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE \(owner.table) SET lease_owner = $1, lease_until = $2
            WHERE id = $3 AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $1)
            """, [holder, until, owner.postgresKey, now]) > 0
    }

    func releaseLease(_ owner: TokenOwner, holder: String) throws {
        try connection.execute(
            "UPDATE \(owner.table) SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
            [owner.postgresKey, holder])
    }

    func backOffRefresh(_ owner: TokenOwner, failures: Int, nextAt: Date) throws {
        try connection.execute(
            """
            UPDATE \(owner.table) SET refresh_failures = $1, next_attempt_at = $2, lease_owner = NULL, lease_until = NULL
            WHERE id = $3
            """, [failures, nextAt, owner.postgresKey])
    }

    func clearAllLeases() throws -> Int {
        var cleared = 0
        for table in ["service_accounts", "accounts"] {
            cleared += try connection.execute(
                "UPDATE \(table) SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL")
        }
        return cleared + (try connection.execute("DELETE FROM cluster_leases"))
    }

    /// One statement decides: a second node's upsert waits for the first's row lock and re-checks
    /// the `WHERE` on the committed row, so two nodes never both get `true`.
    func acquireClusterLease(_ name: String, holder: String, until: Date, now: Date) throws -> Bool {
        try connection.execute(
            """
            INSERT INTO cluster_leases (name, owner, lease_until) VALUES ($1, $2, $3)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
            WHERE cluster_leases.lease_until < $4 OR cluster_leases.owner = excluded.owner
            """, [name, holder, until, now]) > 0
    }

    func releaseClusterLease(_ name: String, holder: String) throws {
        try connection.execute("DELETE FROM cluster_leases WHERE name = $1 AND owner = $2", [name, holder])
    }

    func storeRefreshedTokens(_ owner: TokenOwner, _ tokens: RefreshedTokens) throws -> Bool {
        try connection.execute(
            """
            UPDATE \(owner.table) SET access_token = $1, refresh_token = COALESCE($2, refresh_token), key_id = $3,
                expires_at = $4, scope = $5, refresh_failures = 0, next_attempt_at = NULL,
                lease_owner = NULL, lease_until = NULL, updated_at = $6
            WHERE id = $7 AND status = 'active'
            """,
            [tokens.accessToken, tokens.refreshToken, tokens.keyID, tokens.expiresAt, tokens.scope, tokens.now,
             owner.postgresKey]) > 0
    }

    func endGrant(_ owner: TokenOwner, spentRefreshToken: [UInt8]?, now: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE \(owner.table) SET status = 'reauthorization_required', access_token = NULL, refresh_token = NULL,
                key_id = NULL, expires_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $1
            WHERE id = $2 AND status = 'active' AND refresh_token IS NOT DISTINCT FROM $3::bytea
            """, [now, owner.postgresKey, spentRefreshToken]) > 0
    }

    func markAccountsAtRisk(serviceAccountID id: String) throws -> [String] {
        try connection.execute(
            "UPDATE accounts SET at_risk = 1 WHERE service_account_id = $1 AND status IN ('active', 'pending', 'reauthorizing')",
            [id])
        return try connection.query(
            "SELECT email FROM accounts WHERE service_account_id = $1 AND at_risk = 1 ORDER BY email_key\(forUpdate)", [id]
        ).compactMap { $0.optional("email") as String? }
    }

    func touchLastUsed(emailKeys: [String], at now: Date) throws {
        for key in emailKeys {
            try connection.execute("UPDATE accounts SET last_used_at = $1 WHERE email_key = $2", [now, key])
        }
    }

    func storeAuthorization(_ write: AuthorizationWrite) throws -> Bool {
        try connection.execute(
            """
            UPDATE accounts SET status = 'active', access_token = $1, refresh_token = $2, key_id = $3, expires_at = $4,
                scope = $5, account_id = $6, sub = $7, profile = $8, error = NULL, error_key = NULL,
                error_description = NULL, state = NULL, at_risk = 0, refresh_failures = 0, next_attempt_at = NULL,
                lease_owner = NULL, lease_until = NULL, authorized_at = $9, updated_at = $9,
                service_account_id = CASE WHEN status = 'active' AND renewal_status IS NOT NULL
                    THEN COALESCE(renewal_service_account_id, service_account_id) ELSE service_account_id END,
                renewal_status = NULL, renewal_scope = NULL, renewal_service_account_id = NULL,
                renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
            WHERE id = $10 AND request_id = $11
            """,
            [write.accessToken, write.refreshToken, write.keyID, write.expiresAt, write.scope, write.accountID, write.sub,
             write.profileJSON, write.now, write.rowID, write.requestID]) > 0
    }

    // MARK: Revocation

    func beginRevocation(_ owner: TokenOwner, retryAt: Date) throws {
        try connection.execute("UPDATE \(owner.table) SET revoke_state = 'pending', revoke_next_at = $1 WHERE id = $2",
                               [retryAt, owner.postgresKey])
    }

    func cancelRenewal(rowID: Int64) throws {
        try connection.execute(
            """
            UPDATE accounts SET request_id = NULL, state = NULL, state_hash = NULL, renewal_next_attempt_at = NULL,
                renewal_status = NULL, renewal_scope = NULL, renewal_service_account_id = NULL,
                renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
            WHERE id = $1
            """, [rowID])
        try clearInbox(accountRow: rowID)
    }

    func confirmAccountRevocation(rowID: Int64, now: Date) throws -> Bool {
        let changed = try connection.execute(
            """
            UPDATE accounts SET status = 'revoked', \(SQLiteStore.eraseAccountColumns), revoke_state = NULL,
                revoke_attempts = 0, revoke_next_at = NULL, updated_at = $1
            WHERE id = $2 AND (revoke_state = 'pending' OR status = 'revoked')
            """, [now, rowID])
        guard changed > 0 else { return false }
        try clearInbox(accountRow: rowID)
        return true
    }

    func eraseAccountLocally(rowID: Int64, now: Date) throws {
        try connection.execute(
            """
            UPDATE accounts SET status = 'revoked', \(SQLiteStore.eraseAccountColumns),
                revoke_state = CASE WHEN status != 'revoked' OR revoke_state = 'pending' THEN 'local_only' ELSE revoke_state END,
                revoke_attempts = 0, revoke_next_at = NULL, updated_at = $1
            WHERE id = $2
            """, [now, rowID])
        try clearInbox(accountRow: rowID)
    }

    func confirmServiceAccountRevocation(id: String, now: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE service_accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                expires_at = NULL, lease_owner = NULL, lease_until = NULL, revoke_state = NULL,
                revoke_attempts = 0, revoke_next_at = NULL, updated_at = $1
            WHERE id = $2 AND (revoke_state = 'pending' OR status = 'revoked')
            """, [now, id]) > 0
    }

    func eraseServiceAccountLocally(id: String, now: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE service_accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                expires_at = NULL, lease_owner = NULL, lease_until = NULL,
                revoke_state = CASE WHEN status != 'revoked' OR revoke_state = 'pending' THEN 'local_only' ELSE revoke_state END,
                revoke_attempts = 0, revoke_next_at = NULL, updated_at = $1
            WHERE id = $2
            """, [now, id]) > 0
    }

    func revokeAccountOfServiceAccount(rowID: Int64, mark: String?, now: Date) throws {
        try connection.execute(
            """
            UPDATE accounts SET status = 'revoked', \(SQLiteStore.eraseAccountColumns), revoke_state = $1,
                revoke_attempts = 0, revoke_next_at = NULL, updated_at = $2
            WHERE id = $3
            """, [mark, now, rowID])
        try clearInbox(accountRow: rowID)
    }

    func unrevokedAccounts(serviceAccountID id: String) throws -> [AccountIdentity] {
        try connection.query(
            "SELECT id, email, email_key FROM accounts WHERE service_account_id = $1 AND status != 'revoked'\(forUpdate)", [id]
        ).map { row in
            AccountIdentity(rowID: try row.get("id"), email: try row.get("email"), emailKey: try row.get("email_key"),
                            serviceAccountID: id)
        }
    }

    /// The next retry time is the caller's function of the count, so the count is read and the
    /// row locked (`FOR UPDATE`, whatever `locking` says) before the one write.
    func recordRevokeFailure(_ owner: TokenOwner, next: (Int) -> Date) throws -> (attempts: Int, nextAt: Date)? {
        let key = owner.postgresKey
        guard let row = try connection.queryOne(
            "SELECT revoke_attempts FROM \(owner.table) WHERE id = $1 AND revoke_state = 'pending' FOR UPDATE", [key])
        else { return nil }
        let attempts = Int(row.optional("revoke_attempts") as Int64? ?? 0) + 1
        let nextAt = next(attempts)
        try connection.execute(
            "UPDATE \(owner.table) SET revoke_attempts = $1, revoke_next_at = $2 WHERE id = $3 AND revoke_state = 'pending'",
            [attempts, nextAt, key])
        return (attempts, nextAt)
    }
}
