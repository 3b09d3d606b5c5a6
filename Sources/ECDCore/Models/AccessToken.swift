import Foundation

/// The token object of CONTRACT §4. Never carries the refresh token.
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

    /// The JSON body of the token routes, written by hand: this is the hot path (tens of thousands
    /// of requests a second), and `JSONEncoder` costs more than the rest of the request together.
    public func jsonBytes(now: Date = Date()) -> [UInt8] {
        var out = "{\"access_token\":"
        out.reserveCapacity(256 + accessToken.utf8.count)
        JSONText.appendString(accessToken, to: &out)
        out += ",\"account_id\":"
        JSONText.appendOptional(accountID, to: &out)
        out += ",\"api_url\":"
        JSONText.appendString(apiURL, to: &out)
        out += ",\"expires_at\":\""
        out += ISO8601.string(from: expiresAt)
        out += "\",\"expires_in\":"
        out += String(expiresIn(now: now))
        out += ",\"scope\":"
        JSONText.appendString(scope, to: &out)
        out += ",\"sub\":"
        JSONText.appendOptional(sub, to: &out)
        out += ",\"token_type\":"
        JSONText.appendString(tokenType, to: &out)
        out += "}"
        return Array(out.utf8)
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

/// Minimal JSON string escaping (RFC 8259 §7) for hand-written bodies.
enum JSONText {
    static func appendString(_ value: String, to out: inout String) {
        out.unicodeScalars.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00"
                    let hex = Array("0123456789abcdef".unicodeScalars)
                    out.unicodeScalars.append(hex[Int(scalar.value >> 4)])
                    out.unicodeScalars.append(hex[Int(scalar.value & 0xF)])
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.unicodeScalars.append("\"")
    }

    static func appendOptional(_ value: String?, to out: inout String) {
        if let value { appendString(value, to: &out) } else { out += "null" }
    }
}
