import ECDSQLite
import FoundationEssentials

/// The SQL of every storage operation, for SQLite, over one `Connection` (inside `read`, or inside
/// a `BEGIN IMMEDIATE` transaction, where the one writer makes each read-then-write atomic).
/// This file: the reads; the writes are in the `SQLiteStore+*.swift` extensions.
struct SQLiteStore: CoreTransaction {
    let connection: Connection

    // MARK: Record loads

    func account(emailKey: String) throws -> AccountRecord? {
        try connection.queryOne("SELECT \(AccountRecord.columns) FROM accounts WHERE email_key = ?", [emailKey])
            .map(AccountRecord.init)
    }

    func account(rowID: Int64) throws -> AccountRecord? {
        try connection.queryOne("SELECT \(AccountRecord.columns) FROM accounts WHERE id = ?", [rowID]).map(AccountRecord.init)
    }

    func serviceAccount(id: String) throws -> ServiceAccountRecord? {
        try connection.queryOne("SELECT \(ServiceAccountRecord.columns) FROM service_accounts WHERE id = ?", [id])
            .map(ServiceAccountRecord.init)
    }

    func serviceAccounts() throws -> [ServiceAccountRecord] {
        try connection.query("SELECT \(ServiceAccountRecord.columns) FROM service_accounts ORDER BY connected_at, id")
            .map(ServiceAccountRecord.init)
    }

    func tokenState(_ owner: TokenOwner) throws -> TokenState? {
        switch owner {
        case .account(let rowID):
            return try connection.queryOne(
                "SELECT id, email, email_key, service_account_id, account_id, sub, \(TokenState.tail) FROM accounts WHERE id = ?",
                [rowID]).map { try TokenState(row: $0, owner: owner) }
        case .serviceAccount(let id):
            return try connection.queryOne(
                "SELECT id, NULL AS email, NULL AS email_key, id AS service_account_id, NULL AS account_id, id AS sub, \(TokenState.tail) FROM service_accounts WHERE id = ?",
                [id]).map { try TokenState(row: $0, owner: owner) }
        }
    }

    func tokenState(emailKey: String) throws -> TokenState? {
        guard let row = try connection.queryOne(
            "SELECT id, email, email_key, service_account_id, account_id, sub, \(TokenState.tail) FROM accounts WHERE email_key = ?",
            [emailKey]) else { return nil }
        return try TokenState(row: row, owner: .account(try row.get("id")))
    }

    func accounts(_ query: AccountQuery) throws -> [AccountRecord] {
        var conditions: [String] = []
        var arguments: [any SQLValueConvertible] = []
        if let status = query.status { conditions.append("status = ?"); arguments.append(status.rawValue) }
        if let renewal = query.renewal { conditions.append("status = 'active' AND renewal_status = ?"); arguments.append(renewal) }
        if let serviceAccountID = query.serviceAccountID { conditions.append("service_account_id = ?"); arguments.append(serviceAccountID) }
        if let after = query.afterEmailKey { conditions.append("email_key > ?"); arguments.append(after) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(query.limit)
        return try connection.query(
            "SELECT \(AccountRecord.columns) FROM accounts \(whereClause) ORDER BY email_key LIMIT ?", arguments
        ).map(AccountRecord.init)
    }

    func accountStatus(rowID: Int64) throws -> String? {
        try connection.queryOne("SELECT status FROM accounts WHERE id = ?", [rowID])?.optional("status")
    }

    func accountStatus(emailKey: String) throws -> String? {
        try connection.queryOne("SELECT status FROM accounts WHERE email_key = ?", [emailKey])?.optional("status")
    }

    // MARK: One-shot tokens

    func connectLink(hash: [UInt8]) throws -> ConnectLinkRow? {
        try connection.queryOne(
            "SELECT label, scope, delegated_scope, expires_at, used_at FROM connect_links WHERE token_hash = ?", [hash]
        ).map { row in
            ConnectLinkRow(label: row.optional("label"), scope: try row.get("scope"), delegatedScope: try row.get("delegated_scope"),
                           expiresAt: row.optional("expires_at"), usedAt: row.optional("used_at"))
        }
    }

    func oauthState(hash: [UInt8]) throws -> OAuthStateRow? {
        try connection.queryOne(
            "SELECT nonce_hash, label, scope, delegated_scope, expires_at, used_at FROM oauth_states WHERE state_hash = ?", [hash]
        ).map { row in
            OAuthStateRow(nonceHash: try row.get("nonce_hash"), label: row.optional("label"), scope: try row.get("scope"),
                          delegatedScope: try row.get("delegated_scope"), expiresAt: row.optional("expires_at"),
                          usedAt: row.optional("used_at"))
        }
    }

    // MARK: Events

    func events(after: Int64, limit: Int) throws -> [Event] {
        try connection.query(
            "SELECT id, type, at, service_account_id, email, data FROM events WHERE id > ? ORDER BY id LIMIT ?", [after, limit]
        ).map(Event.init(row:))
    }

    func webhookCursor() throws -> Int64 {
        try connection.queryOne("SELECT last_event_id FROM webhook_cursor WHERE id = 1")?.optional("last_event_id") ?? 0
    }

    // MARK: Due-work scans

    func dueRevocations(now: Date, limit: Int) throws -> (accountEmails: [String], serviceAccountIDs: [String]) {
        let accounts = try connection.query(
            "SELECT email FROM accounts WHERE revoke_state = 'pending' AND revoke_next_at <= ? LIMIT ?", [now, limit])
            .map { try $0.get("email") as String }
        let services = try connection.query(
            "SELECT id FROM service_accounts WHERE revoke_state = 'pending' AND revoke_next_at <= ? LIMIT ?", [now, limit])
            .map { try $0.get("id") as String }
        return (accounts, services)
    }

    func dueInboxRows(now: Date, limit: Int) throws -> [Int64] {
        try connection.query(
            """
            SELECT id FROM callback_inbox WHERE status IN ('received', 'exchanging')
                AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?
            """, [now, limit]).map { try $0.get("id") }
    }

    func inboxAttempts(id: Int64) throws -> Int {
        Int(try connection.queryOne("SELECT attempts FROM callback_inbox WHERE id = ?", [id])?.optional("attempts") as Int64? ?? 1)
    }

    func refreshDue(horizon: Date, usedSince: Date, now: Date, limit: Int) throws -> [TokenOwner] {
        let services = try connection.query(
            """
            SELECT id FROM service_accounts WHERE status = 'active' AND expires_at < ?
                AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND (lease_until IS NULL OR lease_until < ?)
            LIMIT ?
            """, [horizon, now, now, limit]).map { TokenOwner.serviceAccount(try $0.get("id")) }
        let accounts = try connection.query(
            """
            SELECT id FROM accounts WHERE status = 'active' AND expires_at < ? AND last_used_at >= ?
                AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND (lease_until IS NULL OR lease_until < ?)
            ORDER BY expires_at LIMIT ?
            """, [horizon, usedSince, now, now, limit]).map { TokenOwner.account(try $0.get("id")) }
        return services + accounts
    }

    func unsentRequests(now: Date, limit: Int) throws -> [UnsentRequest] {
        try connection.query(
            """
            SELECT id, email, email_key, \(AccountRecord.requestScopeSQL) AS request_scope,
                \(AccountRecord.requestServiceAccountSQL) AS request_service_account_id, request_id, state, callback_url,
                status = 'active' AS renewal
            FROM accounts
            WHERE ((status IN ('pending', 'reauthorizing') AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
                    OR (status = 'active' AND renewal_status = 'pending'
                        AND (renewal_next_attempt_at IS NULL OR renewal_next_attempt_at <= ?)))
                AND request_sent_at IS NULL AND state IS NOT NULL
            ORDER BY CASE WHEN status = 'active' THEN renewal_next_attempt_at ELSE next_attempt_at END LIMIT ?
            """, [now, now, limit]
        ).map { row in
            UnsentRequest(rowID: try row.get("id"), email: try row.get("email"), emailKey: try row.get("email_key"),
                          requestScope: try row.get("request_scope"),
                          requestServiceAccountID: row.optional("request_service_account_id"),
                          requestID: try row.get("request_id"), sealedState: try row.get("state"),
                          callbackURL: row.optional("callback_url"), renewal: (row.optional("renewal") as Int64?) == 1)
        }
    }

    func requestsWaitingForCallback(sentBefore cutoff: Date, limit: Int) throws -> [WaitingRequest] {
        try connection.query(
            """
            SELECT id, email, \(AccountRecord.requestScopeSQL) AS request_scope,
                \(AccountRecord.requestServiceAccountSQL) AS request_service_account_id, status, request_id,
                callback_attempt, COALESCE(request_sent_at, requested_at) AS since FROM accounts
            WHERE (status IN ('pending', 'reauthorizing') OR (status = 'active' AND renewal_status = 'pending'))
                AND COALESCE(request_sent_at, requested_at) < ?
                AND NOT EXISTS (SELECT 1 FROM callback_inbox WHERE callback_inbox.request_id = accounts.request_id)
            LIMIT ?
            """, [cutoff, limit]
        ).map { row in
            WaitingRequest(rowID: try row.get("id"), email: try row.get("email"), requestScope: try row.get("request_scope"),
                           requestServiceAccountID: row.optional("request_service_account_id"), status: try row.get("status"),
                           requestID: row.optional("request_id"),
                           callbackAttempt: Int(row.optional("callback_attempt") as Int64? ?? 1), since: try row.get("since"))
        }
    }

    // MARK: Gauges and keys

    func gauges() throws -> StorageGauges {
        var counts: [String: Int] = [:]
        for row in try connection.query("SELECT status, COUNT(*) AS n FROM accounts GROUP BY status") {
            counts[try row.get("status")] = Int(try row.get("n") as Int64)
        }
        let depth = try connection.queryOne(
            "SELECT COUNT(*) AS n FROM callback_inbox WHERE status IN ('received', 'exchanging')")?
            .optional("n") as Int64? ?? 0
        // Ids only grow and only delivered events are pruned: the difference is the backlog.
        let backlog = try connection.queryOne(
            "SELECT COALESCE(MAX(id), 0) - (SELECT last_event_id FROM webhook_cursor WHERE id = 1) AS n FROM events")?
            .optional("n") as Int64? ?? 0
        return StorageGauges(accountsByStatus: counts, inboxDepth: Int(depth), webhookBacklog: Int(max(0, backlog)))
    }

    func keyIDsInUse() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try connection.query("SELECT key_id, secrets FROM secret_key_counts WHERE secrets > 0") {
            guard case .text(let id) = row["key_id"], case .integer(let count) = row["secrets"] else { continue }
            counts[id] = Int(count)
        }
        return counts
    }

    // MARK: Maintenance

    /// `health()`'s probe: a write that changes nothing.
    func probeWrite() throws {
        try connection.execute("UPDATE webhook_cursor SET last_event_id = last_event_id WHERE id = 1")
    }
}
