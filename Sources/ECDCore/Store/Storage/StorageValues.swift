import FoundationEssentials

// The values the storage operations take and return: plain data, secrets still sealed.

/// Filters of `GET /v1/accounts`; `limit` rows at most.
struct AccountQuery: Sendable {
    var status: AccountStatus?
    /// `pending` or `failed`: active accounts whose renewal is in that state.
    var renewal: String?
    var serviceAccountID: String?
    /// Only email keys after this one.
    var afterEmailKey: String?
    var limit: Int
}

/// The names of an account row, as events and the cache need them.
struct AccountIdentity: Sendable {
    var rowID: Int64
    var email: String
    var emailKey: String
    var serviceAccountID: String?
}

/// What a failed renewal's event names.
struct RenewalIdentity: Sendable {
    var email: String
    var scope: String?
    var serviceAccountID: String?
}

struct ConnectLinkRow: Sendable {
    var label: String?
    var scope: String
    var delegatedScope: String
    var expiresAt: Date?
    var usedAt: Date?
}

struct ConnectLinkWrite: Sendable {
    var tokenHash: [UInt8]
    var label: String?
    var scope: String
    var delegatedScope: String
    var expiresAt: Date
    var createdAt: Date
}

struct OAuthStateRow: Sendable {
    var nonceHash: [UInt8]
    var label: String?
    var scope: String
    var delegatedScope: String
    var expiresAt: Date?
    var usedAt: Date?
}

struct OAuthStateWrite: Sendable {
    var stateHash: [UInt8]
    var nonceHash: [UInt8]
    var linkHash: [UInt8]
    var label: String?
    var scope: String
    var delegatedScope: String
    var expiresAt: Date
    var createdAt: Date
}

/// A connected service account; `email`, `domain`, `provider`, `label` and `refreshToken` nil
/// keep what a reconnected row holds.
struct ServiceAccountWrite: Sendable {
    var id: String
    var email: String?
    var domain: String?
    var provider: String?
    var label: String?
    var scope: String
    var delegatedScope: String
    var accessToken: [UInt8]
    var refreshToken: [UInt8]?
    var keyID: String
    var expiresAt: Date
    var now: Date
}

struct RefreshedTokens: Sendable {
    var accessToken: [UInt8]
    /// nil keeps the stored refresh token (never replaced by nothing).
    var refreshToken: [UInt8]?
    var keyID: String
    var expiresAt: Date
    var scope: String
    var now: Date
}

/// An exchanged code's tokens for the account at `rowID`, kept only while `requestID` is current.
struct AuthorizationWrite: Sendable {
    var rowID: Int64
    var requestID: String
    var accessToken: [UInt8]
    var refreshToken: [UInt8]?
    var keyID: String
    var expiresAt: Date
    var scope: String
    var accountID: String?
    var sub: String?
    var profileJSON: String?
    var now: Date
}

struct RequestWrite: Sendable {
    var email: String
    var emailKey: String
    var scope: String
    var serviceAccountID: String
    var requestID: String
    var stateHash: [UInt8]
    /// Until Cronofy accepts it, the sweep sends it again no earlier than this.
    var sendDeadline: Date
    var now: Date
}

/// A request the sweep may send again (state still sealed).
struct UnsentRequest: Sendable {
    var rowID: Int64
    var email: String
    var emailKey: String
    var requestScope: String
    var requestServiceAccountID: String?
    var requestID: String
    var sealedState: [UInt8]
    var callbackURL: String?
    var renewal: Bool
}

/// A request whose callback has not come.
struct WaitingRequest: Sendable {
    var rowID: Int64
    var email: String
    var requestScope: String
    var requestServiceAccountID: String?
    var status: String
    var requestID: String?
    var callbackAttempt: Int
    var since: Date
}

struct ReauthorizationCandidate: Sendable {
    var email: String
    var emailKey: String
    var scope: String
    var serviceAccountID: String
    var lastReauthorizationAt: Date?
    var serviceAccountStatus: String?
}

struct ReauthorizationWrite: Sendable {
    var rowID: Int64
    var requestID: String
    var stateHash: [UInt8]
    var sealedState: [UInt8]
    var sendDeadline: Date
    var callbackURL: String
    var now: Date
}

/// What the intake checks a callback against.
struct CallbackTarget: Sendable {
    var accountRow: Int64
    var status: String
    var stateHash: [UInt8]?
    var renewalStatus: String?
}

/// An open inbox row (its code still sealed).
struct InboxRow: Sendable {
    var requestID: String
    var accountRow: Int64
    var codeEnvelope: [UInt8]?
    var error: AccountError?
    var status: String
}

struct StorageGauges: Sendable {
    var accountsByStatus: [String: Int]
    var inboxDepth: Int
    var webhookBacklog: Int
}
