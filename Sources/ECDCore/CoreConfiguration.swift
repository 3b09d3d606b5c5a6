import FoundationEssentials

/// The settings of the service layer (CONTRACT §2 keys in comments).
public struct CoreConfiguration: Sendable {
    public var publicBaseURL: URL                       // public.base_url
    public var serviceAccountScope: String              // service_account.scope
    public var delegatedScope: String                   // service_account.delegated_scope
    public var defaultAccountScope: String              // accounts.default_scope
    public var callbackTimeout: Duration                // accounts.callback_timeout_seconds
    public var refreshLead: Duration                    // refresh.lead_seconds
    public var requireCallbackSignature: Bool           // cronofy.require_callback_signature
    public var clientSecret: String                     // for Cronofy-HMAC-SHA256
    public var webhookURL: URL?                         // events.webhook_url
    /// `events.webhook_secret(s)`: the first signs; during a rotation every one gets a `v1=` in
    /// `ECD-Signature`, so a receiver holding either the old or the new secret accepts the delivery.
    public var webhookSecrets: [[UInt8]]
    public var connectLinkLifetime: Duration = .seconds(1800)

    // Tuning of the background work; the defaults suit production, tests shorten them.
    /// How often the sweeps (callback timeout, unsent requests, refresh ahead, last-used flush) run.
    public var sweepInterval: Duration = .seconds(15)
    /// An account counts as "read recently" (worth refreshing ahead) this long after a token read.
    public var recentUseWindow: Duration = .seconds(3600)
    /// Entries of the in-memory token cache (decrypted fresh access tokens, ~0.5 KB each). Large
    /// enough that every account of a big organization stays cached: a miss costs a database read
    /// and a decryption, and lookups must not slow down as accounts grow to 100,000.
    public var tokenCacheCapacity: Int = 200_000
    /// Concurrent code exchanges of the inbox worker.
    public var inboxConcurrency: Int = 4
    /// How long a process may hold a refresh lease before another may take over.
    public var refreshLeaseDuration: Duration = .seconds(60)
    /// How long a node's claim on shared work holds without being renewed (`storage.postgres.
    /// lease_seconds`): a callback's code exchange, webhook delivery, event retention. The holder
    /// renews it every third of this while it works, so this is how long the work waits after its
    /// node died before another node takes it over.
    public var clusterLeaseDuration: Duration = .seconds(30)
    /// This process holds the database alone (ECDApp's lock file on a SQLite database): refresh
    /// leases found at start belong to a process that died, and are cleared at once instead of
    /// being waited out. Off where several processes share a database and leases are live.
    public var soleProcess: Bool = false
    /// Longest back-off between attempts (refresh, inbox, unsent requests, webhook).
    public var maxBackoff: Duration = .seconds(300)
    /// accounts.reauthorize_interval_seconds: at most one automatic re-request per account per
    /// this interval, so a grant Cronofy keeps refusing cannot loop.
    public var reauthorizeInterval: Duration = .seconds(3600)
    /// accounts.callback_attempts: how many times in all a request is sent before a missing
    /// callback ends it `failed` (`callback_timeout`). Cronofy documents no retry of a callback.
    public var callbackAttempts: Int = 3
    /// Events older than this are deleted (`events.retention_days`); nil keeps them forever.
    /// Events the webhook has not delivered yet are kept whatever their age.
    public var eventRetention: Duration? = .seconds(90 * 86_400)
    /// How often the retention prune runs.
    public var eventPruneInterval: Duration = .seconds(3600)
    /// Tests only: runs between reading an account's token from the database and caching it, to
    /// widen the window in which a concurrent revoke must still win. Nil in production.
    public var afterTokenLoad: (@Sendable () async -> Void)?

    public init(publicBaseURL: URL,
                serviceAccountScope: String = "service_account/accounts/manage service_account/resources/manage",
                delegatedScope: String = "read_account list_calendars read_events create_event delete_event read_free_busy",
                defaultAccountScope: String = "read_account list_calendars read_events create_event delete_event",
                callbackTimeout: Duration = .seconds(900),
                refreshLead: Duration = .seconds(300),
                requireCallbackSignature: Bool = false,
                clientSecret: String,
                webhookURL: URL? = nil,
                webhookSecrets: [[UInt8]] = []) {
        self.publicBaseURL = publicBaseURL
        self.serviceAccountScope = serviceAccountScope
        self.delegatedScope = delegatedScope
        self.defaultAccountScope = defaultAccountScope
        self.callbackTimeout = callbackTimeout
        self.refreshLead = refreshLead
        self.requireCallbackSignature = requireCallbackSignature
        self.clientSecret = clientSecret
        self.webhookURL = webhookURL
        self.webhookSecrets = webhookSecrets
    }

    /// `{base_url}/oauth/callback`: the service account flow's redirect_uri.
    var oauthRedirectURI: String { join("/oauth/callback") }

    /// `{base_url}/callbacks/delegated/{request}`: one delegated-access request's callback_url.
    func delegatedCallbackURL(requestID: String) -> String { join("/callbacks/delegated/" + requestID) }

    /// `{base_url}/connect/{link}`.
    func connectURL(token: String) -> String { join("/connect/" + token) }

    private func join(_ path: String) -> String {
        var base = publicBaseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }
}

extension CoreConfiguration: CustomStringConvertible {
    /// Never shows the client secret or the webhook secret.
    public var description: String {
        "CoreConfiguration(publicBaseURL: \(publicBaseURL.absoluteString), webhook: \(webhookURL?.absoluteString ?? "none"))"
    }
}

extension Duration {
    /// Seconds as a `TimeInterval`, for date arithmetic.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
