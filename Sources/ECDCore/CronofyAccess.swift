import ECDCronofy
import FoundationEssentials
import Logging

/// How the service layer reaches Cronofy, in the core's own terms: where (the API and site URLs,
/// which ECDApp derives from `cronofy.data_center` or the URL overrides), who (the client id; the
/// secret is `CoreConfiguration.clientSecret`, which also checks callback signatures), and how
/// often (the request budget: the process's, or the cluster's on PostgreSQL). The core builds its
/// Cronofy client from this value, so no ECDCronofy type appears in its public API (issue 13
/// item 5; `scripts/core-interface-check.sh`).
public struct CronofyAccess: Sendable {
    public var clientID: String
    /// Base of the JSON API (`/oauth/token`, `/v1/...`). May carry a path prefix.
    public var apiURL: URL
    /// Base of the browser pages (`/enterprise_connect/oauth/authorize`). May carry a path prefix.
    public var siteURL: URL
    /// `refresh.cronofy_requests_per_minute`: the budget every call to Cronofy shares, the whole
    /// cluster's on PostgreSQL (`PostgresRequestBudget`).
    public var requestsPerMinute: Int
    /// The longest a call waits for the budget before it fails as rate-limited.
    public var budgetMaxWait: Duration = RequestBudget.defaultMaxWait
    /// Upper bound for one HTTP attempt to Cronofy (not for its retries together); nil: the
    /// client's default (15 s).
    public var requestTimeout: Duration?
    /// Metrics hook, once per HTTP attempt: endpoint ("token", "revoke", "authorizations",
    /// "userinfo", "resources"), outcome ("ok", "invalid_grant", "429", "5xx", "timeout", ...) and
    /// the attempt's duration (budget wait excluded). Called on the calling task; must not block.
    public var onCall: (@Sendable (String, String, Duration) -> Void)?
    /// Metrics hook, once per HTTP attempt: endpoint and how long it waited for the budget.
    public var onBudgetWait: (@Sendable (String, Duration) -> Void)?

    public init(clientID: String, apiURL: URL, siteURL: URL, requestsPerMinute: Int) {
        self.clientID = clientID
        self.apiURL = apiURL
        self.siteURL = siteURL
        self.requestsPerMinute = requestsPerMinute
    }

    /// The adapter to ECDCronofy: the client every flow calls, under one budget: this process's
    /// on SQLite, the one every node shares on PostgreSQL.
    func makeClient(clientSecret: String, database: CoreDatabase, logger: Logger) -> CronofyClient {
        var configuration = CronofyConfiguration(clientID: clientID, clientSecret: clientSecret,
                                                 apiURL: apiURL, appURL: siteURL)
        if let requestTimeout { configuration.requestTimeout = requestTimeout }
        let budget: any RequestBudgeting = switch database {
        case .sqlite: RequestBudget(requestsPerMinute: requestsPerMinute, maxWait: budgetMaxWait)
        case .postgres(let pool):
            PostgresRequestBudget(pool: pool, requestsPerMinute: requestsPerMinute, maxWait: budgetMaxWait, logger: logger)
        }
        let client = CronofyClient(configuration: configuration, budget: budget)
        client.onCall = onCall
        client.onBudgetWait = onBudgetWait
        return client
    }
}
