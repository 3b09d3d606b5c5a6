import ECDPostgres
import ECDSQLite
import FoundationEssentials

// The records as rows of either driver: their columns and how a row decodes, written once. The
// two schemas are twins (docs/design/storage-drivers.md §3), so one column list and one decoder
// serve both; only the row type differs, and both row types are a `RecordRow` as they are.

/// The value types a record's columns hold (text, integers, times in milliseconds, bytes), which
/// both drivers decode.
protocol RecordValue: SQLValueConvertible, PostgresValueConvertible {}
extension String: RecordValue {}
extension Int64: RecordValue {}
extension Date: RecordValue {}
extension Array: RecordValue where Element == UInt8 {}

/// A row of either driver, as the record decoders below read it. `ECDSQLite.Row` and
/// `ECDPostgres.PostgresRow` conform with their own `get`/`optional` (whose constraint is wider).
protocol RecordRow {
    func get<T: RecordValue>(_ column: String) throws -> T
    func optional<T: RecordValue>(_ column: String) -> T?
}

extension Row: RecordRow {}
extension PostgresRow: RecordRow {}

extension AccountRecord {
    static let columns = """
        id, email, email_key, service_account_id, status, scope, account_id, sub, profile, error, error_key, \
        error_description, request_id, state_hash, state, request_sent_at, access_token, refresh_token, expires_at, \
        at_risk, requested_at, authorized_at, updated_at, revoke_state, callback_url, callback_attempt, \
        renewal_status, renewal_scope, renewal_service_account_id, renewal_error, renewal_error_key, renewal_error_description
        """

    /// The scope and service account the current request asks for, as SQL: a renewal's wait in
    /// its own columns while the active grant's stay in `scope` and `service_account_id`.
    static let requestScopeSQL = "CASE WHEN status = 'active' AND renewal_status IS NOT NULL THEN renewal_scope ELSE scope END"
    static let requestServiceAccountSQL = """
        CASE WHEN status = 'active' AND renewal_status IS NOT NULL THEN renewal_service_account_id ELSE service_account_id END
        """

    init(row: some RecordRow) throws {
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
    static let columns = """
        id, email, domain, provider, label, status, scope, delegated_scope, access_token, refresh_token, expires_at, \
        connected_at, updated_at, revoke_state
        """

    init(row: some RecordRow) throws {
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
    static let tail = """
        status, scope, access_token, refresh_token, expires_at, refresh_failures, next_attempt_at
        """

    init(row: some RecordRow, owner: TokenOwner) throws {
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
    init(row: some RecordRow) throws {
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
