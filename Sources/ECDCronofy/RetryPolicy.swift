import FoundationEssentials

/// Retries for transient failures (429, 5xx, timeout, connection failure): exponential backoff with
/// full jitter, `Retry-After` honoured up to `maxDelay`. Every attempt also passes the shared
/// `RequestBudget`, so retries never exceed the process-wide rate.
public struct RetryPolicy: Sendable {
    /// Total attempts including the first; 1 disables retries.
    public var maxAttempts = 3
    public var baseDelay: Duration = .milliseconds(200)
    public var maxDelay: Duration = .seconds(10)
    /// Upper bound for how long one 429 may hold back the whole process through the budget
    /// (a huge or hostile `Retry-After` must not stall every account for hours).
    public var maxPenalty: Duration = .seconds(60)
    /// Budget hold-back after a 429 that carried no `Retry-After` (Cronofy documents none).
    public var defaultPenalty: Duration = .seconds(1)

    public init() {}

    public init(maxAttempts: Int, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10)) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Delay before attempt `attempt + 1`, after `attempt` (1-based) failed.
    /// Full jitter: uniform in [0, min(maxDelay, baseDelay · 2^(attempt-1))]; with a `Retry-After`
    /// the delay is at least that (capped by `maxDelay`). `unit` is a random number in [0, 1].
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?, unit: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        var delay = ceiling * min(max(unit, 0), 1)
        if let retryAfter { delay = max(delay, min(retryAfter, maxDelay)) }
        return max(delay, .zero)
    }

    /// How long a 429 holds back everyone sharing the budget.
    func penalty(retryAfter: Duration?) -> Duration {
        min(retryAfter ?? defaultPenalty, maxPenalty)
    }
}
