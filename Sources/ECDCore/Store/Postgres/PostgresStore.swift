import ECDPostgres
import FoundationEssentials

/// The SQL of every storage operation, for PostgreSQL, over one pooled connection. With
/// `locking` (inside `PostgresStorage.transaction`) every row read is read `FOR UPDATE` and every
/// due-work scan `FOR UPDATE SKIP LOCKED`: the rule that makes the flows' read-then-write pairs as
/// safe as under SQLite's one writer (see `PostgresStorage`). Outside a transaction nothing is
/// locked. This file: the reads; the writes are in the `PostgresStore+*.swift` extensions.
struct PostgresStore: CoreTransaction {
    let connection: PostgresConnection
    let locking: Bool

    /// Appended to a read of rows a transaction may then change.
    var forUpdate: String { locking ? " FOR UPDATE" : "" }
    /// Appended to a scan of due work: in a transaction it claims what it returns.
    var claim: String { locking ? " FOR UPDATE SKIP LOCKED" : "" }

    // MARK: Record loads

    func account(emailKey: String) throws -> AccountRecord? {
        try connection.queryOne("SELECT \(AccountRecord.columns) FROM accounts WHERE email_key = $1\(forUpdate)", [emailKey])
            .map(AccountRecord.init(row:))
    }

    func account(rowID: Int64) throws -> AccountRecord? {
        try connection.queryOne("SELECT \(AccountRecord.columns) FROM accounts WHERE id = $1\(forUpdate)", [rowID])
            .map(AccountRecord.init(row:))
    }

    func serviceAccount(id: String) throws -> ServiceAccountRecord? {
        try connection.queryOne("SELECT \(ServiceAccountRecord.columns) FROM service_accounts WHERE id = $1\(forUpdate)", [id])
            .map(ServiceAccountRecord.init(row:))
    }

    func serviceAccounts() throws -> [ServiceAccountRecord] {
        try connection.query("SELECT \(ServiceAccountRecord.columns) FROM service_accounts ORDER BY connected_at, id\(forUpdate)")
            .map(ServiceAccountRecord.init(row:))
    }

    func tokenState(_ owner: TokenOwner) throws -> TokenState? {
        switch owner {
        case .account(let rowID):
            return try connection.queryOne(
                "SELECT id, email, email_key, service_account_id, account_id, sub, \(TokenState.tail) FROM accounts WHERE id = $1\(forUpdate)",
                [rowID]).map { try TokenState(row: $0, owner: owner) }
        case .serviceAccount(let id):
            return try connection.queryOne(
                """
                SELECT id, NULL::text AS email, NULL::text AS email_key, id AS service_account_id, NULL::text AS account_id,
                    id AS sub, \(TokenState.tail) FROM service_accounts WHERE id = $1\(forUpdate)
                """,
                [id]).map { try TokenState(row: $0, owner: owner) }
        }
    }

    func tokenState(emailKey: String) throws -> TokenState? {
        guard let row = try connection.queryOne(
            "SELECT id, email, email_key, service_account_id, account_id, sub, \(TokenState.tail) FROM accounts WHERE email_key = $1\(forUpdate)",
            [emailKey]) else { return nil }
        return try TokenState(row: row, owner: .account(try row.get("id")))
    }

    func accounts(_ query: AccountQuery) throws -> [AccountRecord] {
        var conditions: [String] = []
        var arguments: [any PostgresValueConvertible] = []
        func next(_ value: any PostgresValueConvertible) -> String {
            arguments.append(value)
            return "$\(arguments.count)"
        }
        if let status = query.status { conditions.append("status = \(next(status.rawValue))") }
        if let renewal = query.renewal { conditions.append("status = 'active' AND renewal_status = \(next(renewal))") }
        if let serviceAccountID = query.serviceAccountID { conditions.append("service_account_id = \(next(serviceAccountID))") }
        if let after = query.afterEmailKey { conditions.append("email_key > \(next(after))") }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let limit = next(query.limit)
        return try connection.query(
            "SELECT \(AccountRecord.columns) FROM accounts \(whereClause) ORDER BY email_key LIMIT \(limit)\(forUpdate)", arguments
        ).map(AccountRecord.init(row:))
    }

    func accountStatus(rowID: Int64) throws -> String? {
        try connection.queryOne("SELECT status FROM accounts WHERE id = $1\(forUpdate)", [rowID])?.optional("status")
    }

    func accountStatus(emailKey: String) throws -> String? {
        try connection.queryOne("SELECT status FROM accounts WHERE email_key = $1\(forUpdate)", [emailKey])?.optional("status")
    }

    // MARK: One-shot tokens

    func connectLink(hash: [UInt8]) throws -> ConnectLinkRow? {
        try connection.queryOne(
            "SELECT label, scope, delegated_scope, expires_at, used_at FROM connect_links WHERE token_hash = $1\(forUpdate)", [hash]
        ).map(Self.connectLinkRow)
    }

    static func connectLinkRow(_ row: PostgresRow) throws -> ConnectLinkRow {
        ConnectLinkRow(label: row.optional("label"), scope: try row.get("scope"), delegatedScope: try row.get("delegated_scope"),
                       expiresAt: row.optional("expires_at"), usedAt: row.optional("used_at"))
    }

    func oauthState(hash: [UInt8]) throws -> OAuthStateRow? {
        try connection.queryOne(
            "SELECT nonce_hash, label, scope, delegated_scope, expires_at, used_at FROM oauth_states WHERE state_hash = $1\(forUpdate)",
            [hash]
        ).map { row in
            OAuthStateRow(nonceHash: try row.get("nonce_hash"), label: row.optional("label"), scope: try row.get("scope"),
                          delegatedScope: try row.get("delegated_scope"), expiresAt: row.optional("expires_at"),
                          usedAt: row.optional("used_at"))
        }
    }

    // MARK: Events

    /// Events are only appended (and pruned once delivered): nothing to lock.
    func events(after: Int64, limit: Int) throws -> [Event] {
        try connection.query(
            "SELECT id, type, at, service_account_id, email, data FROM events WHERE id > $1 ORDER BY id LIMIT $2", [after, limit]
        ).map(Event.init(row:))
    }

    func webhookCursor() throws -> Int64 {
        try connection.queryOne("SELECT last_event_id FROM webhook_cursor WHERE id = 1\(forUpdate)")?.optional("last_event_id") ?? 0
    }

    // MARK: Due-work scans

    func dueRevocations(now: Date, limit: Int) throws -> (accountEmails: [String], serviceAccountIDs: [String]) {
        let accounts = try connection.query(
            "SELECT email FROM accounts WHERE revoke_state = 'pending' AND revoke_next_at <= $1 LIMIT $2\(claim)", [now, limit])
            .map { try $0.get("email") as String }
        let services = try connection.query(
            "SELECT id FROM service_accounts WHERE revoke_state = 'pending' AND revoke_next_at <= $1 LIMIT $2\(claim)", [now, limit])
            .map { try $0.get("id") as String }
        return (accounts, services)
    }

    func dueInboxRows(now: Date, limit: Int) throws -> [Int64] {
        try connection.query(
            """
            SELECT id FROM callback_inbox WHERE status IN ('received', 'exchanging')
                AND (next_attempt_at IS NULL OR next_attempt_at <= $1) ORDER BY id LIMIT $2\(claim)
            """, [now, limit]).map { try $0.get("id") }
    }

    func inboxAttempts(id: Int64) throws -> Int {
        Int(try connection.queryOne("SELECT attempts FROM callback_inbox WHERE id = $1", [id])?.optional("attempts") as Int64? ?? 1)
    }

    func refreshDue(horizon: Date, usedSince: Date, now: Date, limit: Int) throws -> [TokenOwner] {
        let services = try connection.query(
            """
            SELECT id FROM service_accounts WHERE status = 'active' AND expires_at < $1
                AND (next_attempt_at IS NULL OR next_attempt_at <= $2) AND (lease_until IS NULL OR lease_until < $2)
            LIMIT $3\(claim)
            """, [horizon, now, limit]).map { TokenOwner.serviceAccount(try $0.get("id")) }
        let accounts = try connection.query(
            """
            SELECT id FROM accounts WHERE status = 'active' AND expires_at < $1 AND last_used_at >= $2
                AND (next_attempt_at IS NULL OR next_attempt_at <= $3) AND (lease_until IS NULL OR lease_until < $3)
            ORDER BY expires_at LIMIT $4\(claim)
            """, [horizon, usedSince, now, limit]).map { TokenOwner.account(try $0.get("id")) }
        return services + accounts
    }

    func unsentRequests(now: Date, limit: Int) throws -> [UnsentRequest] {
        try connection.query(
            """
            SELECT id, email, email_key, \(AccountRecord.requestScopeSQL) AS request_scope,
                \(AccountRecord.requestServiceAccountSQL) AS request_service_account_id, request_id, state, callback_url,
                status = 'active' AS renewal
            FROM accounts
            WHERE ((status IN ('pending', 'reauthorizing') AND (next_attempt_at IS NULL OR next_attempt_at <= $1))
                    OR (status = 'active' AND renewal_status = 'pending'
                        AND (renewal_next_attempt_at IS NULL OR renewal_next_attempt_at <= $1)))
                AND request_sent_at IS NULL AND state IS NOT NULL
            ORDER BY CASE WHEN status = 'active' THEN renewal_next_attempt_at ELSE next_attempt_at END LIMIT $2\(claim)
            """, [now, limit]
        ).map { row in
            UnsentRequest(rowID: try row.get("id"), email: try row.get("email"), emailKey: try row.get("email_key"),
                          requestScope: try row.get("request_scope"),
                          requestServiceAccountID: row.optional("request_service_account_id"),
                          requestID: try row.get("request_id"), sealedState: try row.get("state"),
                          callbackURL: row.optional("callback_url"), renewal: row.optional("renewal") == true)
        }
    }

    func requestsWaitingForCallback(sentBefore cutoff: Date, limit: Int) throws -> [WaitingRequest] {
        try connection.query(
            """
            SELECT id, email, \(AccountRecord.requestScopeSQL) AS request_scope,
                \(AccountRecord.requestServiceAccountSQL) AS request_service_account_id, status, request_id,
                callback_attempt, COALESCE(request_sent_at, requested_at) AS since FROM accounts
            WHERE (status IN ('pending', 'reauthorizing') OR (status = 'active' AND renewal_status = 'pending'))
                AND COALESCE(request_sent_at, requested_at) < $1
                AND NOT EXISTS (SELECT 1 FROM callback_inbox WHERE callback_inbox.request_id = accounts.request_id)
            LIMIT $2\(claim)
            """, [cutoff, limit]
        ).map { row in
            WaitingRequest(rowID: try row.get("id"), email: try row.get("email"), requestScope: try row.get("request_scope"),
                           requestServiceAccountID: row.optional("request_service_account_id"), status: try row.get("status"),
                           requestID: row.optional("request_id"),
                           callbackAttempt: Int(row.optional("callback_attempt") as Int64? ?? 1), since: try row.get("since"))
        }
    }

    // MARK: Gauges and keys

    /// Counts: nothing to lock (`FOR UPDATE` is not allowed with `GROUP BY` anyway).
    func gauges() throws -> StorageGauges {
        var counts: [String: Int] = [:]
        for row in try connection.query("SELECT status, COUNT(*) AS n FROM accounts GROUP BY status") {
            counts[try row.get("status")] = Int(try row.get("n") as Int64)
        }
        let depth = try connection.queryOne(
            "SELECT COUNT(*) AS n FROM callback_inbox WHERE status IN ('received', 'exchanging')")?
            .optional("n") as Int64? ?? 0
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
}
