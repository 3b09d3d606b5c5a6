import FoundationEssentials

/// What a `CronofyClient` draws on before each HTTP attempt: `RequestBudget` in one process (and
/// on SQLite), or a budget the nodes of a cluster share through their database (ECDCore's
/// `PostgresRequestBudget`, issue 16), so that N nodes together keep to one
/// `refresh.cronofy_requests_per_minute`.
public protocol RequestBudgeting: Sendable {
    /// The longest a call waits for the budget before it fails as rate-limited.
    var maxWait: Duration { get }
    /// Takes one request if it can be had within `maxWait`, waiting for it; returns how long it
    /// waited, or nil (nothing taken) when the caller would have to wait longer.
    func acquire(within maxWait: Duration) async -> Duration?
    /// After a 429: nobody gets a request before `retryAfter` has passed, waiters included.
    func penalize(retryAfter: Duration) async
}

/// The process-wide rate budget for Cronofy calls: a token bucket refilled continuously at
/// `requestsPerMinute / 60` per second.
///
/// Cronofy allows 500 requests/minute and 50/second per application. The bucket's capacity (the
/// largest burst) defaults to a sixth of the per-minute budget, at most 40, so that a burst plus
/// one second of refill stays under the per-second limit.
///
/// Callers reserve their token before sleeping (the count may go negative), which keeps waiters
/// in arrival order and avoids a stampede when the bucket refills.
public actor RequestBudget: RequestBudgeting {
    public nonisolated let requestsPerMinute: Int
    public nonisolated let capacity: Int
    /// The longest a call waits for a token (`acquire(within:)`) before it fails as rate-limited.
    public nonisolated let maxWait: Duration
    private let perSecond: Double
    private var tokens: Double
    private var lastRefill: ContinuousClock.Instant
    private var penaltyUntil: ContinuousClock.Instant?
    private let clock: BudgetClock

    /// The default `maxWait`: a call that would wait longer for the budget is refused at once
    /// (ecd's callers retry; an API caller gets an answer well inside any proxy's timeout).
    public static let defaultMaxWait: Duration = .seconds(20)

    public init(requestsPerMinute: Int, maxWait: Duration = RequestBudget.defaultMaxWait) {
        self.init(requestsPerMinute: requestsPerMinute, burst: nil, maxWait: maxWait)
    }

    /// `burst` overrides the bucket capacity (at least 1); `clock` is the continuous clock but in
    /// tests, which move time themselves.
    public init(requestsPerMinute: Int, burst: Int?, maxWait: Duration = RequestBudget.defaultMaxWait,
                clock: BudgetClock = .continuous) {
        self.clock = clock
        let rate = max(1, requestsPerMinute)
        self.maxWait = maxWait
        self.requestsPerMinute = rate
        capacity = max(1, burst ?? Self.defaultCapacity(requestsPerMinute: rate))
        perSecond = Double(rate) / 60
        tokens = Double(capacity)
        lastRefill = clock.now()
    }

    /// The largest burst for a budget of `requestsPerMinute`: a sixth of a minute's worth, at most
    /// 40 (a burst plus one second of refill stays under Cronofy's 50 a second).
    public static func defaultCapacity(requestsPerMinute: Int) -> Int {
        max(1, min(max(1, requestsPerMinute) / 6, 40))
    }

    /// Takes one token, waiting as long as needed; returns how long it waited.
    /// A cancelled task stops waiting early (the call it guards will then fail as cancelled).
    /// Only for tests and tools: every call to Cronofy waits through `acquire(within:)`.
    @discardableResult
    public func acquire() async -> Duration {
        await acquire(within: .seconds(Int64.max / 1_000_000_000 / 2)) ?? .zero
    }

    /// Takes one token if it can be had within `maxWait`, waiting for it; returns how long it
    /// waited, or nil (no token taken, no time spent) when the queue ahead, or a 429 penalty, would
    /// hold the caller longer: a caller is told at once that Cronofy's budget is spent instead of
    /// waiting without bound. A penalty that arrives while waiting and reaches past `maxWait`
    /// also gives up (nil, the token given back).
    public func acquire(within maxWait: Duration) async -> Duration? {
        let start = clock.now()
        refill(at: start)
        // Until `lastRefill` (in the future after a penalty) nothing accrues; after it, the deficit
        // takes deficit / rate seconds to refill.
        var wait = start < lastRefill ? lastRefill - start : .zero
        if tokens < 1 { wait += .milliseconds(Int64(((1 - tokens) / perSecond * 1000).rounded(.up))) }
        if let until = penaltyUntil, until > start { wait = max(wait, until - start) }
        guard wait <= maxWait else { return nil }
        tokens -= 1
        if wait > .zero { try? await clock.sleep(start + wait) }
        // A 429 seen by someone else while we slept holds us back too.
        while !Task.isCancelled, let until = penaltyUntil, until > clock.now() {
            guard until - start <= maxWait else {
                tokens += 1
                return nil
            }
            try? await clock.sleep(until)
        }
        return clock.now() - start
    }

    /// After a 429: nobody gets a token before `retryAfter` has passed, and the bucket restarts
    /// empty so the requests queued behind the penalty do not burst out at once.
    public func penalize(retryAfter: Duration) {
        let now = clock.now()
        refill(at: now)
        let until = now + max(retryAfter, .zero)
        if penaltyUntil.map({ until > $0 }) ?? true { penaltyUntil = until }
        tokens = min(tokens, 0)
        if until > lastRefill { lastRefill = until }
    }

    private func refill(at now: ContinuousClock.Instant) {
        guard now > lastRefill else { return }
        let elapsed = (now - lastRefill).timeInterval
        tokens = min(Double(capacity), tokens + elapsed * perSecond)
        lastRefill = now
    }
}

/// The time a `RequestBudget` keeps: `now` and a sleep until an instant. The continuous clock in
/// the daemon; a test's own clock, which moves only when the test moves it, so that "a waiter is
/// asleep when the penalty comes" is arranged rather than hoped for.
public struct BudgetClock: Sendable {
    public let now: @Sendable () -> ContinuousClock.Instant
    public let sleep: @Sendable (ContinuousClock.Instant) async throws -> Void

    public init(now: @escaping @Sendable () -> ContinuousClock.Instant,
                sleep: @escaping @Sendable (ContinuousClock.Instant) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    public static let continuous = BudgetClock(now: { ContinuousClock.now }, sleep: { try await ContinuousClock().sleep(until: $0) })
}
