import ECDSQLite
import FoundationEssentials

/// The callback inbox, events and the webhook cursor, for SQLite.
extension SQLiteStore {
    func callbackTarget(requestID: String) throws -> CallbackTarget? {
        try connection.queryOne(
            "SELECT id, status, state_hash, renewal_status FROM accounts WHERE request_id = ?", [requestID]
        ).map { row in
            CallbackTarget(accountRow: try row.get("id"), status: try row.get("status"), stateHash: row.optional("state_hash"),
                           renewalStatus: row.optional("renewal_status"))
        }
    }

    func inboxHolds(requestID: String, contentHash: [UInt8]) throws -> Bool {
        try connection.queryOne("SELECT 1 AS one FROM callback_inbox WHERE request_id = ? AND content_hash = ?",
                                [requestID, contentHash]) != nil
    }

    func inboxHoldsCode(requestID: String) throws -> Bool {
        try connection.queryOne("SELECT 1 AS one FROM callback_inbox WHERE request_id = ? AND kind = 'code'", [requestID]) != nil
    }

    func insertInbox(_ item: IntakeItem, accountRow: Int64, now: Date) throws {
        try connection.execute(
            """
            INSERT INTO callback_inbox (request_id, kind, content_hash, account_row, received_at, code, error, error_key,
                error_description, status, attempts, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', 0, ?)
            """,
            [item.requestID, item.kind, item.contentHash, accountRow, now, item.codeEnvelope, item.error?.error,
             item.error?.errorKey, item.error?.errorDescription, now])
    }

    func resetExchangingInbox() throws {
        try connection.execute(
            "UPDATE callback_inbox SET next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL WHERE status = 'exchanging'")
    }

    func openInboxRow(id: Int64, now: Date) throws -> InboxRow? {
        try connection.queryOne(
            """
            SELECT request_id, account_row, code, error, error_key, error_description, status FROM callback_inbox
            WHERE id = ? AND status IN ('received', 'exchanging') AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
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
            UPDATE callback_inbox SET status = 'exchanging', attempts = attempts + 1, next_attempt_at = ?, lease_owner = ?,
                lease_until = ?, updated_at = ?
            WHERE id = ?
            """, [until, holder, until, now, id])
    }

    func renewInboxLease(id: Int64, holder: String, until: Date) throws -> Bool {
        try connection.execute(
            """
            UPDATE callback_inbox SET next_attempt_at = ?, lease_until = ?
            WHERE id = ? AND status = 'exchanging' AND lease_owner = ?
            """, [until, until, id, holder])
        return connection.changes > 0
    }

    func holdsInboxLease(id: Int64, holder: String) throws -> Bool {
        try connection.queryOne("SELECT 1 AS one FROM callback_inbox WHERE id = ? AND status = 'exchanging' AND lease_owner = ?",
                                [id, holder]) != nil
    }

    func rescheduleInbox(id: Int64, at: Date, now: Date?) throws {
        if let now {
            try connection.execute(
                "UPDATE callback_inbox SET next_attempt_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?",
                [at, now, id])
        } else {
            try connection.execute("UPDATE callback_inbox SET next_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
                                   [at, id])
        }
    }

    func finishInbox(id: Int64, status: String, now: Date) throws {
        try connection.execute(
            """
            UPDATE callback_inbox SET status = ?, code = NULL, next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL,
                updated_at = ?
            WHERE id = ?
            """, [status, now, id])
    }

    // MARK: Events

    /// Events are written inside the transaction of the change they describe, so an event exists
    /// exactly when its change does.
    func appendEvent(_ type: EventType, serviceAccountID: String?, email: String?, data: [String: JSONValue],
                     at: Date) throws -> Int64 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(data), as: UTF8.self)
        try connection.execute(
            "INSERT INTO events (type, at, service_account_id, email, data) VALUES (?, ?, ?, ?, ?)",
            [type.rawValue, at, serviceAccountID, email, text])
        return connection.lastInsertRowID
    }

    func pruneEvents(before cutoff: Date, upTo delivered: Int64, limit: Int) throws -> Int {
        try connection.execute(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ? AND id <= ? LIMIT ?)", [cutoff, delivered, limit])
        return connection.changes
    }

    func advanceWebhookCursor(to id: Int64) throws {
        try connection.execute("UPDATE webhook_cursor SET last_event_id = ? WHERE id = 1", [id])
    }
}
