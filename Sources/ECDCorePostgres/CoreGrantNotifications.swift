/// Token-cache coherence between the nodes of a cluster (issue 16): every node caches decrypted
/// tokens, so a commit that changes an account's grant on one node must reach the others' caches.
/// Triggers on `accounts` send `NOTIFY ecd_tokens` in the committing transaction itself (PostgreSQL
/// delivers it at the commit, and never for a rollback), whichever flow or tool made the change:
/// refresh, revoke, a re-request or renewal swap, a failure, an erase.
///
/// The payload is the hex SHA-256 of the account's `email_key`: never a token, never the email in
/// clear. A node maps it back through the digests of the keys it caches (`TokenCache`).
///
/// PostgreSQL only (SQLite has one process and no one to tell): the triggers are left out of the
/// schema comparison with SQLite by name (`postgresOnlyTriggers`).
public enum CoreGrantNotifications {
    /// The `LISTEN` channel.
    public static let channel = "ecd_tokens"

    static let triggers = ["accounts_grant_changed", "accounts_grant_erased"]

    /// Columns whose change makes a cached token wrong: the token itself, its expiry and scope,
    /// and the account's status (revoked, failed, being re-requested). `last_used_at`, leases and
    /// the request bookkeeping are left out: they change on every read or sweep and say nothing
    /// about the token.
    static let grantColumns = ["access_token", "refresh_token", "expires_at", "scope", "status"]

    static var version2: [String] {
        let changed = grantColumns.map { "OLD.\($0) IS DISTINCT FROM NEW.\($0)" }.joined(separator: " OR ")
        return [
            """
            CREATE FUNCTION ecd_notify_grant_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            DECLARE
                changed accounts%ROWTYPE;
            BEGIN
                IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
                PERFORM pg_notify('\(channel)', encode(sha256(convert_to(changed.email_key, 'UTF8')), 'hex'));
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER accounts_grant_changed AFTER UPDATE ON accounts FOR EACH ROW
            WHEN (\(changed)) EXECUTE FUNCTION ecd_notify_grant_change()
            """,
            """
            CREATE TRIGGER accounts_grant_erased AFTER DELETE ON accounts FOR EACH ROW
            EXECUTE FUNCTION ecd_notify_grant_change()
            """,
        ]
    }
}
