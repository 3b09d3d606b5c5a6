import ECDPostgres
import Foundation

// The records as PostgreSQL rows. The column lists are SQLite's (`SQLiteRows.swift`): the two
// schemas are twins (docs/design/storage-drivers.md §3), only the row type differs.

extension AccountRecord {
    init(postgres row: PostgresRow) throws {
        rowID = try row.get("id")
        email = try row.get("email")
        emailKey = try row.get("email_key")
        serviceAccountID = row.optional("service_account_id")
        status = AccountStatus(rawValue: try row.get("status")) ?? .failed
        scope = try row.get("scope")
        accountID = row.optional("account_id")
        sub = row.optional("sub")
        if let text: String = row.optional("profile") {
            profile = try? JSONDecoder().decode(AccountProfile.self, from: Data(text.utf8))
        }
        if let error: String = row.optional("error") {
            self.error = AccountError(error: error, errorKey: row.optional("error_key"),
                                      errorDescription: row.optional("error_description"))
        }
        requestID = row.optional("request_id")
        stateHash = row.optional("state_hash")
        stateEnvelope = row.optional("state")
        requestSentAt = row.optional("request_sent_at")
        accessToken = row.optional("access_token")
        refreshToken = row.optional("refresh_token")
        expiresAt = row.optional("expires_at")
        atRisk = (row.optional("at_risk") as Int64?) == 1
        requestedAt = row.optional("requested_at")
        authorizedAt = row.optional("authorized_at")
        updatedAt = try row.get("updated_at")
        revokeState = row.optional("revoke_state")
        callbackURL = row.optional("callback_url")
        callbackAttempt = Int(row.optional("callback_attempt") as Int64? ?? 1)
        renewalStatus = row.optional("renewal_status")
        renewalScope = row.optional("renewal_scope")
        renewalServiceAccountID = row.optional("renewal_service_account_id")
        if let error: String = row.optional("renewal_error") {
            renewalError = AccountError(error: error, errorKey: row.optional("renewal_error_key"),
                                        errorDescription: row.optional("renewal_error_description"))
        }
    }
}

extension ServiceAccountRecord {
    init(postgres row: PostgresRow) throws {
        id = try row.get("id")
        email = row.optional("email")
        domain = row.optional("domain")
        provider = row.optional("provider")
        label = row.optional("label")
        status = ServiceAccountStatus(rawValue: try row.get("status")) ?? .revoked
        scope = try row.get("scope")
        delegatedScope = try row.get("delegated_scope")
        accessToken = row.optional("access_token")
        refreshToken = row.optional("refresh_token")
        expiresAt = row.optional("expires_at")
        connectedAt = try row.get("connected_at")
        updatedAt = try row.get("updated_at")
        revokeState = row.optional("revoke_state")
    }
}

extension TokenState {
    init(postgres row: PostgresRow, owner: TokenOwner) throws {
        self.owner = owner
        email = row.optional("email")
        emailKey = row.optional("email_key")
        serviceAccountID = row.optional("service_account_id")
        status = try row.get("status")
        scope = try row.get("scope")
        accountID = row.optional("account_id")
        sub = row.optional("sub")
        accessToken = row.optional("access_token")
        refreshToken = row.optional("refresh_token")
        expiresAt = row.optional("expires_at")
        failures = Int(row.optional("refresh_failures") as Int64? ?? 0)
        nextAttemptAt = row.optional("next_attempt_at")
    }
}

extension Event {
    init(postgres row: PostgresRow) throws {
        let text: String = try row.get("data")
        let data = (try? JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8))) ?? [:]
        let typeName: String = try row.get("type")
        guard let type = EventType(rawValue: typeName) else {
            throw CoreError.notFound("event type \(typeName)")
        }
        self.init(id: try row.get("id"), type: type, at: try row.get("at"),
                  serviceAccountID: row.optional("service_account_id"), email: row.optional("email"), data: data)
    }
}

extension TokenOwner {
    /// The primary-key value for `WHERE id = $n`.
    var postgresKey: any PostgresValueConvertible {
        switch self {
        case .account(let rowID): return rowID
        case .serviceAccount(let id): return id
        }
    }
}
