import FoundationEssentials

// Response models. Decoding is permissive on purpose: Cronofy adds fields without notice (unknown
// keys are ignored) and several documented keys appear only in some responses (all optional).

/// The provider profile a delegated account was linked through.
public struct LinkingProfile: Sendable, Codable, Equatable {
    public var providerName: String?
    public var profileID: String?
    public var profileName: String?
    public var providerService: String?

    public init(providerName: String? = nil, profileID: String? = nil, profileName: String? = nil,
                providerService: String? = nil) {
        self.providerName = providerName
        self.profileID = profileID
        self.profileName = profileName
        self.providerService = providerService
    }

    enum CodingKeys: String, CodingKey {
        case providerName = "provider_name", profileID = "profile_id"
        case profileName = "profile_name", providerService = "provider_service"
    }
}

/// A `/oauth/token` answer: a service-account token set (`service_account_id`), a delegated
/// account's (`account_id`, `sub`, `linking_profile`) or a refresh (neither).
public struct TokenResponse: Sendable, Equatable {
    public var tokenType: String
    public var accessToken: String
    /// Seconds; Enterprise Connect tokens are short-lived (1800 in the docs), always use this value.
    public var expiresIn: Int
    /// May change on every refresh: persist the value from each response.
    public var refreshToken: String?
    public var scope: String?
    public var accountID: String?
    public var sub: String?
    public var serviceAccountID: String?
    public var linkingProfile: LinkingProfile?

    public init(tokenType: String = "bearer", accessToken: String, expiresIn: Int, refreshToken: String? = nil,
                scope: String? = nil, accountID: String? = nil, sub: String? = nil,
                serviceAccountID: String? = nil, linkingProfile: LinkingProfile? = nil) {
        self.tokenType = tokenType
        self.accessToken = accessToken
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.scope = scope
        self.accountID = accountID
        self.sub = sub
        self.serviceAccountID = serviceAccountID
        self.linkingProfile = linkingProfile
    }
}

extension TokenResponse: CustomStringConvertible {
    /// Identifies the token set without revealing either token.
    public var description: String {
        "TokenResponse(expiresIn: \(expiresIn), scope: \(scope ?? "-"), sub: \(sub ?? accountID ?? serviceAccountID ?? "-"))"
    }
}

extension TokenResponse: Decodable {
    enum CodingKeys: String, CodingKey {
        case tokenType = "token_type", accessToken = "access_token", expiresIn = "expires_in"
        case refreshToken = "refresh_token", scope, accountID = "account_id", sub
        case serviceAccountID = "service_account_id", linkingProfile = "linking_profile"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tokenType = try c.decodeIfPresent(String.self, forKey: .tokenType) ?? "bearer"
        accessToken = try c.decode(String.self, forKey: .accessToken)
        expiresIn = try c.decodeFlexibleInt(forKey: .expiresIn)
        refreshToken = try c.decodeIfPresent(String.self, forKey: .refreshToken)
        scope = try c.decodeIfPresent(String.self, forKey: .scope)
        accountID = try c.decodeIfPresent(String.self, forKey: .accountID)
        sub = try c.decodeIfPresent(String.self, forKey: .sub)
        serviceAccountID = try c.decodeIfPresent(String.self, forKey: .serviceAccountID)
        linkingProfile = try? c.decodeIfPresent(LinkingProfile.self, forKey: .linkingProfile)
    }
}

extension KeyedDecodingContainer {
    /// An integer that may arrive as a JSON integer, a whole float (`1800.0`) or a numeric string.
    func decodeFlexibleInt(forKey key: Key) throws -> Int {
        if let value = try? decode(Int.self, forKey: key) { return value }
        if let value = try? decode(Double.self, forKey: key), value.isFinite, value == value.rounded(),
           abs(value) < 1e15 {
            return Int(value)
        }
        if let text = try? decode(String.self, forKey: key), let value = Int(text) { return value }
        if contains(key) {
            throw DecodingError.typeMismatch(Int.self, .init(codingPath: codingPath + [key], debugDescription: "not an integer"))
        }
        throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
    }
}

/// A resource mailbox (room, equipment) listed by `GET /v1/resources`.
public struct Resource: Sendable, Codable, Equatable {
    public var email: String
    public var name: String

    public init(email: String, name: String) {
        self.email = email
        self.name = name
    }
}

/// One entry of `POST /v1/service_account_authorizations`.
public struct DelegatedAccessRequest: Sendable, Equatable {
    public var email: String
    /// Where Cronofy POSTs the outcome; the code it delivers must be exchanged with exactly this
    /// value as `redirect_uri`.
    public var callbackURL: String
    /// Space-separated; must be within the service account's `delegated_scope`.
    public var scope: String
    public var state: String

    public init(email: String, callbackURL: String, scope: String, state: String) {
        self.email = email
        self.callbackURL = callbackURL
        self.scope = scope
        self.state = state
    }
}

extension DelegatedAccessRequest: Encodable {
    enum CodingKeys: String, CodingKey { case email, callbackURL = "callback_url", scope, state }
}
