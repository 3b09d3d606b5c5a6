import ECDText
import FoundationEssentials

/// The token object of api-contract.md §4. Never carries the refresh token.
public struct AccessToken: Sendable, Equatable {
    public var accessToken: String
    public var tokenType: String
    public var expiresAt: Date
    public var scope: String
    public var accountID: String?
    public var sub: String?
    public var apiURL: String

    public init(accessToken: String, tokenType: String = "bearer", expiresAt: Date, scope: String,
                accountID: String?, sub: String?, apiURL: String) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.expiresAt = expiresAt
        self.scope = scope
        self.accountID = accountID
        self.sub = sub
        self.apiURL = apiURL
    }

    /// Whole seconds left at `now`, never negative.
    public func expiresIn(now: Date = Date()) -> Int {
        max(0, Int(expiresAt.timeIntervalSince(now).rounded(.down)))
    }

    /// The JSON body of the token routes, written by hand into one buffer: this is the hot path
    /// (tens of thousands of requests a second), and `JSONEncoder` costs more than the rest of the
    /// request together. Keys in the same (sorted) order as `JSONEncoder.ecd()`.
    public func jsonBytes(now: Date = Date()) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(224 + accessToken.utf8.count + scope.utf8.count + apiURL.utf8.count)
        JSONText.append(literal: "{\"access_token\":", to: &out)
        JSONText.append(string: accessToken, to: &out)
        JSONText.append(literal: ",\"account_id\":", to: &out)
        JSONText.append(optional: accountID, to: &out)
        JSONText.append(literal: ",\"api_url\":", to: &out)
        JSONText.append(string: apiURL, to: &out)
        JSONText.append(literal: ",\"expires_at\":\"", to: &out)
        ISO8601.append(expiresAt, to: &out)
        JSONText.append(literal: "\",\"expires_in\":", to: &out)
        JSONText.append(integer: expiresIn(now: now), to: &out)
        JSONText.append(literal: ",\"scope\":", to: &out)
        JSONText.append(string: scope, to: &out)
        JSONText.append(literal: ",\"sub\":", to: &out)
        JSONText.append(optional: sub, to: &out)
        JSONText.append(literal: ",\"token_type\":", to: &out)
        JSONText.append(string: tokenType, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

extension AccessToken: Codable {
    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresAt = "expires_at"
        case expiresIn = "expires_in"
        case scope
        case accountID = "account_id"
        case sub
        case apiURL = "api_url"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accessToken = try container.decode(String.self, forKey: .accessToken)
        tokenType = try container.decode(String.self, forKey: .tokenType)
        expiresAt = try container.decode(Date.self, forKey: .expiresAt)
        scope = try container.decode(String.self, forKey: .scope)
        accountID = try container.decodeIfPresent(String.self, forKey: .accountID)
        sub = try container.decodeIfPresent(String.self, forKey: .sub)
        apiURL = try container.decode(String.self, forKey: .apiURL)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(accessToken, forKey: .accessToken)
        try container.encode(tokenType, forKey: .tokenType)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(expiresIn(), forKey: .expiresIn)
        try container.encode(scope, forKey: .scope)
        try container.encode(accountID, forKey: .accountID)
        try container.encode(sub, forKey: .sub)
        try container.encode(apiURL, forKey: .apiURL)
    }
}

/// The answer of `EnterpriseConnect.token(email:minValidity:)`: a cached fresh token at once, or
/// work that reads the database and refreshes (run it in a task; it throws `CoreError`).
public enum TokenLookup: Sendable {
    case ready(AccessToken)
    case pending(@Sendable () async throws -> AccessToken)

    /// Either way, the token.
    public func value() async throws -> AccessToken {
        switch self {
        case .ready(let token): return token
        case .pending(let work): return try await work()
        }
    }
}
