import FoundationEssentials

/// How to reach Cronofy and who we are. `apiURL`/`appURL` default to the data center's hosts and
/// may be overridden (the simulator serves both roles from one `http://127.0.0.1:PORT` base).
public struct CronofyConfiguration: Sendable {
    public var clientID: String
    public var clientSecret: String
    /// Base of the JSON API (`/oauth/token`, `/v1/...`). May carry a path prefix.
    public var apiURL: URL
    /// Base of the browser pages (`/enterprise_connect/oauth/authorize`). May carry a path prefix.
    public var appURL: URL
    public var userAgent: String
    /// Upper bound for one HTTP attempt (connect + send + receive), not for the retries together.
    public var requestTimeout: Duration

    public static let defaultUserAgent = "ecd/0.1 (+Enterprise Connect daemon)"

    public init(clientID: String, clientSecret: String, dataCenter: DataCenter = .us,
                apiURL: URL? = nil, appURL: URL? = nil) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.apiURL = apiURL ?? dataCenter.apiURL
        self.appURL = appURL ?? dataCenter.appURL
        self.userAgent = Self.defaultUserAgent
        self.requestTimeout = .seconds(15)
    }
}

extension CronofyConfiguration: CustomStringConvertible {
    /// Never shows the client secret.
    public var description: String {
        "CronofyConfiguration(clientID: \(clientID), apiURL: \(apiURL.absoluteString), appURL: \(appURL.absoluteString))"
    }
}
