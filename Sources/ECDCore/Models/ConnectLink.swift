import FoundationEssentials

/// `POST /v1/service-accounts/connect-links` → `{"url","expires_at"}`.
public struct ConnectLink: Sendable, Equatable, Codable {
    /// The longest label a link may carry, in characters (the admin sees it on the link's page).
    public static let maxLabelLength = 200

    public var url: String
    public var expiresAt: Date

    public init(url: String, expiresAt: Date) {
        self.url = url
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case url
        case expiresAt = "expires_at"
    }
}

/// What a look at a connect link shows before it is used: `GET /connect/{link}` answers a page
/// with a button; the link stays unused until that button `POST`s.
public struct ConnectLinkPreview: Sendable, Equatable {
    public var label: String?
    public var expiresAt: Date

    public init(label: String?, expiresAt: Date) {
        self.label = label
        self.expiresAt = expiresAt
    }
}

/// What `POST /connect/{link}` answers: a 303 to `authorizeURL` and a cookie holding
/// `stateCookieValue` (HttpOnly, SameSite=Lax), which `completeConnect` checks against the state.
public struct ConnectRedirect: Sendable, Equatable {
    public var authorizeURL: URL
    public var stateCookieValue: String
    /// How long the cookie is worth keeping (the state's lifetime), for `Max-Age`.
    public var cookieMaxAge: Duration

    public init(authorizeURL: URL, stateCookieValue: String, cookieMaxAge: Duration) {
        self.authorizeURL = authorizeURL
        self.stateCookieValue = stateCookieValue
        self.cookieMaxAge = cookieMaxAge
    }
}

/// What `rewrap()` did: re-encrypted secrets per table and per key id they were under, and how
/// many secrets each key id holds afterwards (an old key may go once it is absent there).
public struct RewrapReport: Sendable, Equatable, Codable {
    public var rewrapped: [String: Int]
    public var alreadyCurrent: Int
    /// Secrets moved, by the key id they were sealed with before.
    public var rewrappedFromKeyIDs: [String: Int] = [:]
    /// Secrets by key id after the run, every secret column counted.
    public var secretsByKeyID: [String: Int] = [:]
    /// Write transactions taken (one per batch of rows, plus one closing each table).
    public var batches: Int = 0

    public init(rewrapped: [String: Int], alreadyCurrent: Int) {
        self.rewrapped = rewrapped
        self.alreadyCurrent = alreadyCurrent
    }

    public var total: Int { rewrapped.values.reduce(0, +) }
}
