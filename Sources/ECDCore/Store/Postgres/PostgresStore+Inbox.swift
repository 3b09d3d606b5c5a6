import ECDPostgres
import FoundationEssentials

/// The callback inbox, events and the webhook cursor, for PostgreSQL.
extension PostgresStore {
    /// Locks the account row: two intakes of the same request (on two nodes) then make their
    /// duplicate checks and insert one after the other, as under SQLite's one writer.
    func callbackTarget(requestID: String) throws -> CallbackTarget? {
        try connection.queryOne(
            "SELECT id, status, state_hash, renewal_status FROM accounts WHERE request_id = $1\(forUpdate)", [requestID]
        ).map { row in
            CallbackTarget(accountRow: try row.get("id"), status: try row.get("status"), stateHash: row.optional("state_hash"),
                           renewalStatus: row.optional("renewal_status"))
        }
    }

    func inboxHolds(requestID: String, contentHash: [UInt8]) throws -> Bool {
        try connection.queryOne("SELECT 1 AS one FROM callback_inbox WHERE request_id = $1 AND content_hash = $2\(forUpdate)",
                                [requestID, contentHash]) != nil
    }

    func inboxHoldsCode(requestID: String) throws -> Bool {
        try connection.queryOne("SELECT 1 AS one FROM callback_inbox WHERE request_id = $1 AND kind = 'code'\(forUpdate)",
                                [requestID]) != nil
    }

    func insertInbox(_ item: IntakeItem, accountRow: Int64, now: Date) throws {
        try connection.execute(
            """
            INSERT INTO callback_inbox (request_id, kind, content_hash, account_row, received_at, code, error, error_key,
                error_description, status, attempts, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'received', 0, $5)
            """,
            [item.requestID, item.kind, item.contentHash, accountRow, now, item.codeEnvelope, item.error?.error,
             item.error?.errorKey, item.error?.errorDescription])
    }

    /// Nothing: with several nodes on one database, a row `exchanging` at start may be another
    /// live node's exchange, and making it due at once would exchange its code twice (the second
    /// exchange fails at Cronofy and would re-request the account). A row whose node died comes due
    /// when its lease (`markExchanging`, renewed while the exchange runs) runs out, and any node
    /// finishes it then.
    func resetExchangingInbox() throws {}

    /// A claim: locked and skipped while another node holds it, and only while due (a row another
    /// node claimed and committed meanwhile is `exchanging` with a claim in the future).
    func openInboxRow(id: Int64, now: Date) throws -> InboxRow? {
        try connection.queryOne(
            """
            SELECT request_id, account_row, code, error, error_key, error_description, status FROM callback_inbox
            WHERE id = $1 AND status IN ('received', 'exchanging') AND (next_attempt_at IS NULL OR next_attempt_at <= $2)\(claim)
            """, [id, now]
        ).map { row in
            let error = (row.optional("error") as String?).map {
                AccountError(error: $0, errorKey: row.optional("error_key"), errorDescription: row.optional("error_description"))
            }
            return InboxRow(requestID: try row.get("request_id"), accountRow: try row.get("account_row"),
                            codeEnvelope: row.optional("code"), error: error, status: try row.get("status"))
        }
    }

    func markExchanging(id: Int64, holder: String, until: Date, now: Date) throws {
        try connection.execute(
            """
            UPDATE callback_inbox SET status = 'exchanging', attempts = attempts + 1, next_attempt_at = $1, lease_owner = $2,
                lease_until = $1, updated_at = $3
            WHERE id = $4
            """, [until, holder, now, id])
    }

    func renewInboxLease(id: Int64, holder: String, until: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE callback_inbox SET next_attempt_at = $1, lease_until = $1
            WHERE id = $2 AND status = 'exchanging' AND lease_owner = $3
            """, [until, id, holder]) > 0
    }

    func holdsInboxLease(id: Int64, holder: String) throws -> Bool {
        try connection.queryOne(
            "SELECT 1 AS one FROM callback_inbox WHERE id = $1 AND status = 'exchanging' AND lease_owner = $2\(forUpdate)",
            [id, holder]) != nil
    }

    func rescheduleInbox(id: Int64, at: Date, now: Date?) throws {
        if let now {
            try connection.execute(
                "UPDATE callback_inbox SET next_attempt_at = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2 WHERE id = $3",
                [at, now, id])
        } else {
            try connection.execute(
                "UPDATE callback_inbox SET next_attempt_at = $1, lease_owner = NULL, lease_until = NULL WHERE id = $2", [at, id])
        }
    }

    func finishInbox(id: Int64, status: String, now: Date) throws {
        try connection.execute(
            """
            UPDATE callback_inbox SET status = $1, code = NULL, next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL,
                updated_at = $2
            WHERE id = $3
            """, [status, now, id])
    }

    // MARK: Events

    /// Events are written inside the transaction of the change they describe, so an event exists
    /// exactly when its change does. Ids come from the identity column: unique across nodes, but a
    /// transaction that commits later may hold a smaller id than one already committed.
    func appendEvent(_ type: EventType, serviceAccountID: String?, email: String?, data: [String: JSONValue],
                     at: Date) throws -> Int64 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(data), as: UTF8.self)
        guard let row = try connection.queryOne(
            "INSERT INTO events (type, at, service_account_id, email, data) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            [type.rawValue, at, serviceAccountID, email, text]) else {
            throw PostgresError(kind: .decoding, message: "INSERT … RETURNING id returned no row")
        }
        return try row.get("id")
    }

    func pruneEvents(before cutoff: Date, upTo delivered: Int64, limit: Int) throws -> Int {
        try connection.execute(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < $1 AND id <= $2 ORDER BY id LIMIT $3)",
            [cutoff, delivered, limit])
    }

    func advanceWebhookCursor(to id: Int64) throws {
        try connection.execute("UPDATE webhook_cursor SET last_event_id = $1 WHERE id = 1", [id])
    }
}
