import ECDPostgres
import FoundationEssentials

/// Connect links, OAuth states and service accounts, for PostgreSQL. Spending a one-shot token is
/// one conditional `UPDATE … RETURNING`: of two nodes spending the same link or state at once,
/// the second waits for the first's commit, re-checks `used_at IS NULL` and changes nothing.
extension PostgresStore {
    func purgeExpiredConnectState(before cutoff: Date) throws {
        try connection.execute("DELETE FROM connect_links WHERE expires_at < $1", [cutoff])
        try connection.execute("DELETE FROM oauth_states WHERE expires_at < $1", [cutoff])
    }

    func insertConnectLink(_ link: ConnectLinkWrite) throws {
        try connection.execute(
            """
            INSERT INTO connect_links (token_hash, label, scope, delegated_scope, expires_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """, [link.tokenHash, link.label, link.scope, link.delegatedScope, link.expiresAt, link.createdAt])
    }

    func spendConnectLink(hash: [UInt8], now: Date) throws -> ConnectLinkRow? {
        try connection.queryOne(
            """
            UPDATE connect_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
            RETURNING label, scope, delegated_scope, expires_at, used_at
            """, [now, hash]
        ).map(Self.connectLinkRow)
    }

    func insertOAuthState(_ state: OAuthStateWrite) throws {
        try connection.execute(
            """
            INSERT INTO oauth_states (state_hash, nonce_hash, link_hash, label, scope, delegated_scope, expires_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            [state.stateHash, state.nonceHash, state.linkHash, state.label, state.scope, state.delegatedScope, state.expiresAt,
             state.createdAt])
    }

    func spendOAuthState(hash: [UInt8], now: Date) throws -> Bool {
        try connection.execute("UPDATE oauth_states SET used_at = $1 WHERE state_hash = $2 AND used_at IS NULL", [now, hash]) > 0
    }

    /// A reconnect is the admin's word: it ends a revocation still retried in the background in
    /// the same statement (see `SQLiteStore.upsertServiceAccount`).
    func upsertServiceAccount(_ write: ServiceAccountWrite) throws {
        try connection.execute(
            """
            INSERT INTO service_accounts AS s (id, email, domain, provider, label, status, scope, delegated_scope,
                access_token, refresh_token, key_id, expires_at, connected_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $10, $11, $12, $12)
            ON CONFLICT (id) DO UPDATE SET email = COALESCE(excluded.email, s.email),
                domain = COALESCE(excluded.domain, s.domain), provider = COALESCE(excluded.provider, s.provider),
                label = COALESCE(excluded.label, s.label), status = 'active', scope = excluded.scope,
                delegated_scope = excluded.delegated_scope, access_token = excluded.access_token,
                refresh_token = COALESCE(excluded.refresh_token, s.refresh_token), key_id = excluded.key_id,
                expires_at = excluded.expires_at, refresh_failures = 0, next_attempt_at = NULL,
                lease_owner = NULL, lease_until = NULL, revoke_state = NULL, revoke_attempts = 0,
                revoke_next_at = NULL, updated_at = excluded.updated_at
            """,
            [write.id, write.email, write.domain, write.provider, write.label, write.scope, write.delegatedScope,
             write.accessToken, write.refreshToken, write.keyID, write.expiresAt, write.now])
    }

    func accountsToAskAgain(serviceAccountID id: String) throws -> [(email: String, scope: String)] {
        try connection.query(
            """
            SELECT email, scope FROM accounts WHERE service_account_id = $1 AND at_risk = 1
                AND status IN ('reauthorization_required', 'failed')\(forUpdate)
            """, [id]).map { (try $0.get("email"), try $0.get("scope")) }
    }

    func clearAtRisk(serviceAccountID id: String) throws {
        try connection.execute("UPDATE accounts SET at_risk = 0 WHERE service_account_id = $1", [id])
    }
}
