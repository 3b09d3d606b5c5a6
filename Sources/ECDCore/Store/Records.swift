import FoundationEssentials

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

    /// The current request is a renewal of an active account (pending, or failed but still able
    /// to take a late code).
    var isRenewal: Bool { status == .active && renewalStatus != nil }
    var requestScope: String { isRenewal ? (renewalScope ?? scope) : scope }
    var requestServiceAccountID: String? { isRenewal ? (renewalServiceAccountID ?? serviceAccountID) : serviceAccountID }

    var model: Account {
        Account(email: email, serviceAccountID: serviceAccountID, status: status, scope: scope,
                accountID: accountID, sub: sub, profile: profile, error: error, requestedAt: requestedAt,
                authorizedAt: authorizedAt, tokenExpiresAt: accessToken == nil ? nil : expiresAt, updatedAt: updatedAt,
                revocation: revokeState,
                renewal: isRenewal ? AccountRenewal(requestedAt: requestedAt, status: renewalStatus ?? "pending",
                                                    scope: renewalScope, error: renewalError) : nil)
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

    var model: ServiceAccount {
        ServiceAccount(id: id, email: email, domain: domain, provider: provider, label: label, status: status,
                       scope: scope, delegatedScope: delegatedScope, connectedAt: connectedAt, updatedAt: updatedAt,
                       revocation: revokeState)
    }
}
