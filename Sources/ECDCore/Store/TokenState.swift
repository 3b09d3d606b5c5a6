import FoundationEssentials

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
}
