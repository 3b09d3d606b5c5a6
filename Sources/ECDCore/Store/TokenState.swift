import ECDSQLite
import Foundation

/// The token columns of one account or service account row, as the vault and refresher need them.
struct TokenState: Sendable {
    var owner: TokenOwner
    var email: String?
    var emailKey: String?
    var serviceAccountID: String?
    var status: String
    var scope: String
    var accountID: String?
    var sub: String?
    var accessToken: [UInt8]?
    var refreshToken: [UInt8]?
    var expiresAt: Date?
    var failures: Int
    var nextAttemptAt: Date?

    var table: String { owner.table }
    var rowKey: String { owner.rowKey }
    var isActive: Bool { status == "active" }

    /// The status as the 409 of the token routes reports it.
    var accountStatus: AccountStatus {
        switch owner {
        case .account: return AccountStatus(rawValue: status) ?? .failed
        case .serviceAccount:
            switch ServiceAccountStatus(rawValue: status) {
            case .active: return .active
            case .reauthorizationRequired: return .reauthorizationRequired
            case .revoked, nil: return .revoked
            }
        }
    }

    private static let tail = """
        status, scope, access_token, refresh_token, expires_at, refresh_failures, next_attempt_at
        """

    static func load(_ connection: Connection, _ owner: TokenOwner) throws -> TokenState? {
        switch owner {
        case .account(let rowID):
            return try connection.queryOne(
                "SELECT id, email, email_key, service_account_id, account_id, sub, \(tail) FROM accounts WHERE id = ?",
                [rowID]).map { try TokenState(row: $0, owner: owner) }
        case .serviceAccount(let id):
            return try connection.queryOne(
                "SELECT id, NULL AS email, NULL AS email_key, id AS service_account_id, NULL AS account_id, id AS sub, \(tail) FROM service_accounts WHERE id = ?",
                [id]).map { try TokenState(row: $0, owner: owner) }
        }
    }

    static func load(_ connection: Connection, emailKey: String) throws -> TokenState? {
        guard let row = try connection.queryOne(
            "SELECT id, email, email_key, service_account_id, account_id, sub, \(tail) FROM accounts WHERE email_key = ?",
            [emailKey]) else { return nil }
        return try TokenState(row: row, owner: .account(try row.get("id")))
    }

    init(row: Row, owner: TokenOwner) throws {
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

extension TokenOwner {
    var table: String {
        switch self {
        case .account: return "accounts"
        case .serviceAccount: return "service_accounts"
        }
    }

    /// How the row is named in the secrets' associated data.
    var rowKey: String {
        switch self {
        case .account(let rowID): return String(rowID)
        case .serviceAccount(let id): return id
        }
    }

    /// The primary-key value for `WHERE id = ?`.
    var keyValue: any SQLValueConvertible {
        switch self {
        case .account(let rowID): return rowID
        case .serviceAccount(let id): return id
        }
    }
}
