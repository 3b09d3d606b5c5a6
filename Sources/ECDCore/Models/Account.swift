import FoundationEssentials

/// `pending` → `active` | `failed`; `active` → `reauthorizing` | `reauthorization_required` |
/// `revoked`; `reauthorizing` (ecd asked again through the service account after Cronofy refused
/// the refresh token) → `active` | `reauthorization_required`; a new request moves any status but
/// `active` back to `pending` (an active account stays active and carries a `renewal`)
/// (data-model.md §4).
public enum AccountStatus: String, Sendable, Codable, CaseIterable {
    case pending
    case active
    case failed
    case reauthorizing
    case reauthorizationRequired = "reauthorization_required"
    case revoked
}

/// The calendar profile Cronofy linked the account to.
public struct AccountProfile: Sendable, Equatable, Codable {
    public var providerName: String?
    public var profileID: String?
    public var profileName: String?
    /// Cronofy's `linking_profile.provider_service` (e.g. `gsuite`), when it sends one.
    public var providerService: String?

    public init(providerName: String?, profileID: String?, profileName: String?, providerService: String? = nil) {
        self.providerName = providerName
        self.profileID = profileID
        self.profileName = profileName
        self.providerService = providerService
    }

    enum CodingKeys: String, CodingKey {
        case providerName = "provider_name"
        case profileID = "profile_id"
        case profileName = "profile_name"
        case providerService = "provider_service"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(providerName, forKey: .providerName)
        try container.encode(providerService, forKey: .providerService)
        try container.encode(profileID, forKey: .profileID)
        try container.encode(profileName, forKey: .profileName)
    }
}

/// Why an account is `failed`: Cronofy's callback error, a refused exchange, or `callback_timeout`.
public struct AccountError: Sendable, Equatable, Codable {
    public var error: String
    public var errorKey: String?
    public var errorDescription: String?

    public init(error: String, errorKey: String?, errorDescription: String?) {
        self.error = error
        self.errorKey = errorKey
        self.errorDescription = errorDescription
    }

    enum CodingKeys: String, CodingKey {
        case error
        case errorKey = "error_key"
        case errorDescription = "error_description"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(error, forKey: .error)
        try container.encode(errorKey, forKey: .errorKey)
        try container.encode(errorDescription, forKey: .errorDescription)
    }
}

/// A re-request of an `active` account (issue 12): the account keeps serving its current grant
/// meanwhile; `status` is `pending` until the new grant replaces the old one, or `failed` (the old
/// grant stays, `error` says why).
public struct AccountRenewal: Sendable, Equatable, Codable {
    public var requestedAt: Date?
    public var status: String
    public var scope: String?
    public var error: AccountError?

    public init(requestedAt: Date?, status: String, scope: String?, error: AccountError?) {
        self.requestedAt = requestedAt
        self.status = status
        self.scope = scope
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case status, scope, error
        case requestedAt = "requested_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(requestedAt, forKey: .requestedAt)
        try container.encode(status, forKey: .status)
        try container.encode(scope, forKey: .scope)
        try container.encode(error, forKey: .error)
    }
}

/// A user or resource mailbox reached through a service account (api-contract.md §4 "Account object").
public struct Account: Sendable, Equatable, Codable {
    public var email: String
    public var serviceAccountID: String?
    public var status: AccountStatus
    public var scope: String
    public var accountID: String?
    public var sub: String?
    public var profile: AccountProfile?
    public var error: AccountError?
    public var requestedAt: Date?
    public var authorizedAt: Date?
    public var tokenExpiresAt: Date?
    public var updatedAt: Date
    /// Where a revocation stands when Cronofy has not confirmed it: `pending` (Cronofy refused or
    /// did not answer; the tokens are kept and the revocation is retried in the background) or
    /// `local_only` (an operator erased the tokens here; Cronofy may still hold the grant).
    public var revocation: String?
    /// A re-request of this active account in flight or failed; nil otherwise.
    public var renewal: AccountRenewal?

    public init(email: String, serviceAccountID: String?, status: AccountStatus, scope: String,
                accountID: String?, sub: String?, profile: AccountProfile?, error: AccountError?,
                requestedAt: Date?, authorizedAt: Date?, tokenExpiresAt: Date?, updatedAt: Date,
                revocation: String? = nil, renewal: AccountRenewal? = nil) {
        self.email = email
        self.serviceAccountID = serviceAccountID
        self.status = status
        self.scope = scope
        self.accountID = accountID
        self.sub = sub
        self.profile = profile
        self.error = error
        self.requestedAt = requestedAt
        self.authorizedAt = authorizedAt
        self.tokenExpiresAt = tokenExpiresAt
        self.updatedAt = updatedAt
        self.revocation = revocation
        self.renewal = renewal
    }

    enum CodingKeys: String, CodingKey {
        case email, status, scope, sub, profile, error, revocation, renewal
        case serviceAccountID = "service_account_id"
        case accountID = "account_id"
        case requestedAt = "requested_at"
        case authorizedAt = "authorized_at"
        case tokenExpiresAt = "token_expires_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(email, forKey: .email)
        try container.encode(serviceAccountID, forKey: .serviceAccountID)
        try container.encode(status, forKey: .status)
        try container.encode(scope, forKey: .scope)
        try container.encode(accountID, forKey: .accountID)
        try container.encode(sub, forKey: .sub)
        try container.encode(profile, forKey: .profile)
        try container.encode(error, forKey: .error)
        try container.encode(requestedAt, forKey: .requestedAt)
        try container.encode(authorizedAt, forKey: .authorizedAt)
        try container.encode(tokenExpiresAt, forKey: .tokenExpiresAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(revocation, forKey: .revocation)
        try container.encode(renewal, forKey: .renewal)
    }
}

/// One entry of `POST /v1/accounts`.
public struct AccountRequestEntry: Sendable, Equatable, Codable {
    public var email: String
    public var scope: String?
    public var serviceAccountID: String?
    /// Ask again even when the account is already active with this scope and service account
    /// (otherwise such an entry changes nothing).
    public var renew: Bool

    public init(email: String, scope: String? = nil, serviceAccountID: String? = nil, renew: Bool = false) {
        self.email = email
        self.scope = scope
        self.serviceAccountID = serviceAccountID
        self.renew = renew
    }

    enum CodingKeys: String, CodingKey {
        case email, scope, renew
        case serviceAccountID = "service_account_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        email = try container.decode(String.self, forKey: .email)
        scope = try container.decodeIfPresent(String.self, forKey: .scope)
        serviceAccountID = try container.decodeIfPresent(String.self, forKey: .serviceAccountID)
        renew = try container.decodeIfPresent(Bool.self, forKey: .renew) ?? false
    }
}

/// A page of `GET /v1/accounts`; `next` is the cursor for the following page (the last email).
public struct AccountPage: Sendable, Equatable, Codable {
    public var accounts: [Account]
    public var next: String?

    public init(accounts: [Account], next: String?) {
        self.accounts = accounts
        self.next = next
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(accounts, forKey: .accounts)
        try container.encode(next, forKey: .next)
    }
}
