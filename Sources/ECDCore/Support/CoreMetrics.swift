import Metrics

/// The service layer's metrics (swift-metrics; ECDApp bootstraps Prometheus). Created once so the
/// hot paths do not look them up in the factory.
struct CoreMetrics: Sendable {
    private let refreshes: [String: Counter]
    private let callbacks: [String: Counter]
    private let accountGauges: [AccountStatus: Gauge]
    let inboxDepth = Gauge(label: "ecd_callback_inbox_depth")
    let callbackCommit = Timer(label: "ecd_callback_commit_seconds")
    let callbackBatchSize = Recorder(label: "ecd_callback_commit_batch_size")
    let webhookDeliveries = Counter(label: "ecd_webhook_deliveries_total")
    let webhookFailures = Counter(label: "ecd_webhook_failures_total")

    static let refreshOutcomes = ["ok", "invalid_grant", "transient", "error", "lease_busy"]
    static let callbackOutcomes = ["accepted", "duplicate", "rejected"]

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
        var gauges: [AccountStatus: Gauge] = [:]
        for status in AccountStatus.allCases {
            gauges[status] = Gauge(label: "ecd_accounts", dimensions: [("status", status.rawValue)])
        }
        accountGauges = gauges
    }

    func refresh(_ outcome: String) { refreshes[outcome]?.increment() }
    func callback(_ outcome: String) { callbacks[outcome]?.increment() }
    func accounts(_ status: AccountStatus, _ count: Int) { accountGauges[status]?.record(count) }
}
