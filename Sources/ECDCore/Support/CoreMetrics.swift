import Metrics

/// The service layer's metrics (swift-metrics; ECDApp bootstraps Prometheus). Created once so the
/// hot paths do not look them up in the factory.
struct CoreMetrics: Sendable {
    private let refreshes: [String: Counter]
    private let callbacks: [String: Counter]
    private let oauthRejections: [String: Counter]
    private let accountGauges: [AccountStatus: Gauge]
    let inboxDepth = Gauge(label: "ecd_callback_inbox_depth")
    let callbackCommit = Timer(label: "ecd_callback_commit_seconds")
    let callbackBatchSize = Recorder(label: "ecd_callback_commit_batch_size")
    let webhookDeliveries = Counter(label: "ecd_webhook_deliveries_total")
    let webhookFailures = Counter(label: "ecd_webhook_failures_total")
    /// Events written but not yet accepted by the webhook.
    let webhookBacklog = Gauge(label: "ecd_webhook_backlog_events")
    let eventsPruned = Counter(label: "ecd_events_pruned_total")
    /// Every token asked for (the hot path: one relaxed atomic add each, no label lookup).
    let accountTokenReads = Counter(label: "ecd_token_reads_total", dimensions: [("owner", "account")])
    let serviceAccountTokenReads = Counter(label: "ecd_token_reads_total", dimensions: [("owner", "service_account")])
    /// Account token reads answered from the cache, without the database.
    let tokenCacheHits = Counter(label: "ecd_token_cache_hits_total")

    static let refreshOutcomes = ["ok", "invalid_grant", "transient", "error", "lease_busy"]
    static let callbackOutcomes = ["accepted", "duplicate", "rejected"]
    static let oauthRejectionReasons = ["missing_state", "unknown_state", "state_used", "state_expired", "cookie_mismatch"]

    init() {
        var refreshes: [String: Counter] = [:]
        for outcome in Self.refreshOutcomes {
            refreshes[outcome] = Counter(label: "ecd_token_refreshes_total", dimensions: [("outcome", outcome)])
        }
        self.refreshes = refreshes
        var callbacks: [String: Counter] = [:]
        for outcome in Self.callbackOutcomes {
            callbacks[outcome] = Counter(label: "ecd_delegated_callbacks_total", dimensions: [("outcome", outcome)])
        }
        self.callbacks = callbacks
        var rejections: [String: Counter] = [:]
        for reason in Self.oauthRejectionReasons {
            rejections[reason] = Counter(label: "ecd_oauth_callbacks_rejected_total", dimensions: [("reason", reason)])
        }
        oauthRejections = rejections
        var gauges: [AccountStatus: Gauge] = [:]
        for status in AccountStatus.allCases {
            gauges[status] = Gauge(label: "ecd_accounts", dimensions: [("status", status.rawValue)])
        }
        accountGauges = gauges
    }

    func refresh(_ outcome: String) { refreshes[outcome]?.increment() }
    func callback(_ outcome: String) { callbacks[outcome]?.increment() }
    /// A `GET /oauth/callback` refused before its state and cookie matched.
    func oauthCallbackRejected(_ reason: String) { oauthRejections[reason]?.increment() }
    func accounts(_ status: AccountStatus, _ count: Int) { accountGauges[status]?.record(count) }
}

extension EnterpriseConnect {
    /// Counts accounts by status (and the callback inbox) in the database now, for a scrape of
    /// `/metrics`: the gauges then say what is, not what the last sweep saw. Several processes on
    /// one database report the same counts.
    public func updateGauges() async {
        await recordGauges()
    }
}
