import ECDHTTP
import ECDSync
import Metrics
import Prometheus

/// ecd's metrics: one Prometheus registry per process, rendered by `GET /metrics`.
///
/// The HTTP and Cronofy helpers below write to the registry directly (no global state needed, so
/// they work in tests without a bootstrap); ``bootstrap()`` additionally routes swift-metrics
/// (`Counter`, `Timer`, … used by ECDCore) into the same registry.
public enum ECDMetrics {
    public static let registry = PrometheusCollectorRegistry()

    /// `Content-Type` of ``render()``: Prometheus text exposition format 0.0.4.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Metric names, for dashboards and tests.
    public enum Name {
        /// Counter, labels `listener`, `method`, `route` (the route pattern, or `unmatched`), `status`.
        public static let httpRequests = "ecd_http_requests_total"
        /// Histogram in seconds, labels `listener`, `route`.
        public static let httpRequestDuration = "ecd_http_request_duration_seconds"
        /// Counter, labels `endpoint` (`token`, `revoke`, `authorizations`, `userinfo`, `resources`), `outcome`.
        public static let cronofyRequests = "ecd_cronofy_requests_total"
        /// Histogram in seconds, label `endpoint`.
        public static let cronofyRequestDuration = "ecd_cronofy_request_duration_seconds"
        /// Counter, no labels: log lines dropped because the log writer's queue was full.
        public static let logLinesDropped = "ecd_log_lines_dropped_total"
    }

    static let httpBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10),
    ]
    static let cronofyBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
    ]

    private static let bootstrapped = Locked(false)

    /// Makes swift-metrics report into ``registry``. Once per process; returns false if already done.
    @discardableResult
    public static func bootstrap() -> Bool {
        bootstrapped.withLock { done in
            guard !done else { return false }
            done = true
            MetricsSystem.bootstrap(ECDMetricsFactory(registry: registry))
            // A constant 1 labelled with the version, so dashboards can tell which build answers.
            registry.makeGauge(
                descriptor: MetricNameDescriptor(metricName: "ecd_build", unitName: "info", helpText: "The running ecd version"),
                labels: [("version", ECDVersion.current)]
            ).set(to: 1.0)
            return true
        }
    }

    /// The whole registry and the `process_*` metrics in Prometheus text format, for `GET /metrics`.
    public static func render() -> String { String(decoding: renderBytes(), as: UTF8.self) }

    /// ``render()`` as bytes, ready for a response body.
    public static func renderBytes() -> [UInt8] {
        var bytes = registry.emitToBuffer()
        httpRequests.emit(into: &bytes)
        bytes += Array(ProcessMetrics.render().utf8)
        bytes += Array(logDropsText(LogSink.droppedLinesTotal).utf8)
        return bytes
    }

    /// `ecd_log_lines_dropped_total`: log lines the background sink dropped because its queue
    /// was full (standard error blocked or slower than the lines came), rather than making an
    /// event loop wait for it.
    static func logDropsText(_ count: Int) -> String {
        "# HELP \(Name.logLinesDropped) Log lines dropped because the log writer's queue was full.\n"
            + "# TYPE \(Name.logLinesDropped) counter\n\(Name.logLinesDropped) \(count)\n"
    }

    // MARK: - HTTP

    /// Kept per event-loop thread and merged at scrape (`HTTPRequestMetrics`), outside the registry.
    static let httpRequests = HTTPRequestMetrics(buckets: httpBuckets)

    /// The method as a label: the common ones by name, anything else `other`, so odd requests
    /// cannot grow the series (compared in turn: short strings, no hashing).
    static func methodLabel(_ method: String) -> String {
        switch method {
        case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS": method
        default: "other"
        }
    }

    /// Counts one response and its latency. `route` is the matched pattern (`/v1/accounts/{email}`);
    /// nil (no route matched) is recorded as `unmatched`, never as the raw path.
    public static func recordHTTPRequest(listener: String, method: String, route: String?, status: Int, duration: Duration) {
        httpRequests.record(listener: listener, method: methodLabel(method), route: route ?? "unmatched",
                            status: status, duration: duration)
    }

    /// The shape of `HTTPServerConfiguration.onResponse`, so a listener can pass it straight through.
    public static func recordResponse(_ request: HTTPRequest?, _ response: HTTPResponse, _ context: RequestContext, _ duration: Duration) {
        recordHTTPRequest(
            listener: context.listenerName, method: request?.method.rawValue ?? "other",
            route: context.routePattern, status: response.status.code, duration: duration)
    }

    // MARK: - Cronofy

    /// The shape of `CronofyClient.onBudgetWait`: how long a call waited for the shared request
    /// budget (a sustained non-zero wait means `refresh.cronofy_requests_per_minute` is the limit).
    public static func recordBudgetWait(endpoint: String, waited: Duration) {
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "ecd_cronofy_budget_wait", unitName: "seconds",
                helpText: "Time calls to Cronofy waited for the request budget"),
            labels: [("endpoint", endpoint)], buckets: cronofyBuckets
        ).record(waited)
    }

    /// The shape of `CronofyClient.onCall`: endpoint name, outcome, duration.
    public static func recordCronofyCall(endpoint: String, outcome: String, duration: Duration) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "ecd_cronofy_requests", unitName: "total", helpText: "Calls to Cronofy by endpoint and outcome"),
            labels: [("endpoint", endpoint), ("outcome", outcome)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "ecd_cronofy_request_duration", unitName: "seconds", helpText: "Duration of calls to Cronofy"),
            labels: [("endpoint", endpoint)], buckets: cronofyBuckets
        ).record(duration)
    }
}
