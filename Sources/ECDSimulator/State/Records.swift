/// The simulator's records of what it has granted. Plain values, owned by `SimulatorState`.

/// One authorization: a service account's, or an account's obtained through a service account.
/// Tokens point at their grant; revoking marks the grant, which kills every token of it at once.
struct GrantRecord: Sendable {
    enum Kind: Sendable {
        case serviceAccount(identity: ServiceAccountIdentity, delegatedScope: String)
        case account(email: String, serviceAccountID: String, profileID: String, provider: String)
    }
    let id: Int
    /// `ser_…` or `acc_…`: what userinfo reports as `sub` and what revoke-by-`sub` names.
    let sub: String
    let kind: Kind
    let scope: String
    var revoked = false

    var isServiceAccount: Bool {
        if case .serviceAccount = kind { return true }
        return false
    }
}

struct AccessTokenRecord: Sendable {
    let grantID: Int
    var expiresAt: ContinuousClock.Instant
}

struct RefreshTokenRecord: Sendable {
    let grantID: Int
    /// False once rotated by a refresh; a spent refresh token gets `invalid_grant`.
    var active = true
}

/// A single-use authorization code, bound to the client and `redirect_uri` it was issued for.
struct CodeRecord: Sendable {
    enum Purpose: Sendable {
        case serviceAccount(identity: ServiceAccountIdentity, scope: String, delegatedScope: String)
        /// Issued in a delegated-access callback; `redirect_uri` is the `callback_url`.
        case delegated(email: String, scope: String, serviceAccountGrantID: Int)
    }
    let purpose: Purpose
    let clientID: String
    let redirectURI: String
    let expiresAt: ContinuousClock.Instant
    var used = false
}

/// An approval page that has been shown and not yet answered.
struct PendingApproval: Sendable {
    let redirectURI: String
    let scope: String
    let delegatedScope: String
    let state: String?
    let identity: ServiceAccountIdentity
    let expiresAt: ContinuousClock.Instant
}

/// Why `/oauth/token` or `/oauth/token/revoke` refused (RFC 6749 §5.2 error codes).
enum OAuthFailure: Error, Sendable, Equatable {
    case invalidClient
    case invalidGrant
    case invalidRequest(String)
    case unsupportedGrantType

    var code: String {
        switch self {
        case .invalidClient: "invalid_client"
        case .invalidGrant: "invalid_grant"
        case .invalidRequest: "invalid_request"
        case .unsupportedGrantType: "unsupported_grant_type"
        }
    }
}

/// Tokens just issued by an exchange or a refresh, with the grant they belong to.
struct IssuedTokens: Sendable {
    let accessToken: String
    let refreshToken: String
    let expiresIn: Int
    let grant: GrantRecord
}
