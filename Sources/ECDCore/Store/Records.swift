import ECDSQLite
import Foundation

/// One row of `accounts`, as the flows need it (secrets still sealed).
struct AccountRecord: Sendable {
    var rowID: Int64
    var email: String
    var emailKey: String
    var serviceAccountID: String?
    var status: AccountStatus
    var scope: String
    var accountID: String?
    var sub: String?
    var profile: AccountProfile?
    var error: AccountError?
    var requestID: String?
    var stateHash: [UInt8]?
    var stateEnvelope: [UInt8]?
    var requestSentAt: Date?
    var accessToken: [UInt8]?
    var refreshToken: [UInt8]?
    var expiresAt: Date?
    var atRisk: Bool
    var requestedAt: Date?
    var authorizedAt: Date?
    var updatedAt: Date
    var revokeState: String?
    var callbackURL: String?
    var callbackAttempt: Int
    var renewalStatus: String?
    var renewalScope: String?
    var renewalServiceAccountID: String?
    var renewalError: AccountError?

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

    /// The current request is a renewal of an active account (pending, or failed but still able
    /// to take a late code).
    var isRenewal: Bool { status == .active && renewalStatus != nil }
    var requestScope: String { isRenewal ? (renewalScope ?? scope) : scope }
    var requestServiceAccountID: String? { isRenewal ? (renewalServiceAccountID ?? serviceAccountID) : serviceAccountID }

    init(row: Row) throws {
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

    var model: Account {
        Account(email: email, serviceAccountID: serviceAccountID, status: status, scope: scope,
                accountID: accountID, sub: sub, profile: profile, error: error, requestedAt: requestedAt,
                authorizedAt: authorizedAt, tokenExpiresAt: accessToken == nil ? nil : expiresAt, updatedAt: updatedAt,
                revocation: revokeState,
                renewal: isRenewal ? AccountRenewal(requestedAt: requestedAt, status: renewalStatus ?? "pending",
                                                    scope: renewalScope, error: renewalError) : nil)
    }

    static func load(_ connection: Connection, emailKey: String) throws -> AccountRecord? {
        try connection.queryOne("SELECT \(columns) FROM accounts WHERE email_key = ?", [emailKey]).map(AccountRecord.init)
    }

    static func load(_ connection: Connection, rowID: Int64) throws -> AccountRecord? {
        try connection.queryOne("SELECT \(columns) FROM accounts WHERE id = ?", [rowID]).map(AccountRecord.init)
    }

    static func load(_ connection: Connection, requestID: String) throws -> AccountRecord? {
        try connection.queryOne("SELECT \(columns) FROM accounts WHERE request_id = ?", [requestID]).map(AccountRecord.init)
    }
}

/// One row of `service_accounts` (secrets still sealed).
struct ServiceAccountRecord: Sendable {
    var id: String
    var email: String?
    var domain: String?
    var provider: String?
    var label: String?
    var status: ServiceAccountStatus
    var scope: String
    var delegatedScope: String
    var accessToken: [UInt8]?
    var refreshToken: [UInt8]?
    var expiresAt: Date?
    var connectedAt: Date
    var updatedAt: Date
    var revokeState: String?

    static let columns = """
        id, email, domain, provider, label, status, scope, delegated_scope, access_token, refresh_token, expires_at, \
        connected_at, updated_at, revoke_state
        """

    init(row: Row) throws {
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

    var model: ServiceAccount {
        ServiceAccount(id: id, email: email, domain: domain, provider: provider, label: label, status: status,
                       scope: scope, delegatedScope: delegatedScope, connectedAt: connectedAt, updatedAt: updatedAt,
                       revocation: revokeState)
    }

    static func load(_ connection: Connection, id: String) throws -> ServiceAccountRecord? {
        try connection.queryOne("SELECT \(columns) FROM service_accounts WHERE id = ?", [id]).map(ServiceAccountRecord.init)
    }

    static func all(_ connection: Connection) throws -> [ServiceAccountRecord] {
        try connection.query("SELECT \(columns) FROM service_accounts ORDER BY connected_at, id").map(ServiceAccountRecord.init)
    }
}
