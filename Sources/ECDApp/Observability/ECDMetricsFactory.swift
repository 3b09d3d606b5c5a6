import Metrics
import Prometheus

/// swift-metrics into ``ECDMetrics/registry``, like swift-prometheus's `PrometheusMetricsFactory`,
/// but with a `# HELP` line for every metric: that factory registers them with an empty help text
/// (so none is printed), and the registry refuses a second registration whose help differs.
struct ECDMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry

    /// What each of ECDCore's metrics means, for its `# HELP` line. A metric missing here still
    /// gets one (its own name), so a scraper never sees a metric without help.
    static let help: [String: String] = [
        "ecd_accounts": "Accounts by status, counted in the database at each scrape",
        "ecd_callback_inbox_depth": "Delegated callbacks received and not yet exchanged for tokens",
        "ecd_callback_commit_seconds": "Time to commit one batch of delegated callbacks to the database",
        "ecd_callback_commit_batch_size": "Delegated callbacks committed per transaction",
        "ecd_delegated_callbacks_total": "Delegated callbacks from Cronofy by outcome",
        "ecd_events_pruned_total": "Events deleted after events.retention_days",
        "ecd_oauth_callbacks_rejected_total": "OAuth callbacks refused before their state and cookie matched, by reason",
        "ecd_token_refreshes_total": "Token refreshes with Cronofy by outcome",
        "ecd_token_reads_total": "Token reads through the internal API, by owner (account, service_account)",
        "ecd_token_cache_hits_total": "Account token reads answered from the in-memory cache",
        "ecd_webhook_backlog_events": "Events written and not yet accepted by events.webhook_url",
        "ecd_webhook_deliveries_total": "Events delivered to events.webhook_url",
        "ecd_webhook_failures_total": "Failed attempts to deliver an event to events.webhook_url",
    ]

    /// swift-prometheus's defaults, which ECDCore's timers and recorders were designed against.
    static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
    static let valueBuckets: [Double] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

    /// The label is already the full metric name (`ecd_token_reads_total`): an empty unit adds nothing.
    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: Self.help[label] ?? label)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: Self.valueBuckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: Self.durationBuckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? Histogram<Double> { registry.unregisterValueHistogram(histogram) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? Histogram<Duration> { registry.unregisterDurationHistogram(histogram) }
    }
}
