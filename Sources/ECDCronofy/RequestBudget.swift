import Foundation

/// The process-wide rate budget for Cronofy calls: a token bucket refilled continuously at
/// `requestsPerMinute / 60` per second.
///
/// Cronofy allows 500 requests/minute and 50/second per application. The bucket's capacity (the
/// largest burst) defaults to a sixth of the per-minute budget, at most 40, so that a burst plus
/// one second of refill stays under the per-second limit.
///
/// Callers reserve their token before sleeping (the count may go negative), which keeps waiters
/// in arrival order and avoids a stampede when the bucket refills.
public actor RequestBudget {
    public nonisolated let requestsPerMinute: Int
    public nonisolated let capacity: Int
    private let perSecond: Double
    private var tokens: Double
    private var lastRefill: ContinuousClock.Instant
    private var penaltyUntil: ContinuousClock.Instant?
    private let clock = ContinuousClock()

    public init(requestsPerMinute: Int) {
        self.init(requestsPerMinute: requestsPerMinute, burst: nil)
    }

    /// `burst` overrides the bucket capacity (at least 1).
    public init(requestsPerMinute: Int, burst: Int?) {
        let rate = max(1, requestsPerMinute)
        self.requestsPerMinute = rate
        capacity = max(1, burst ?? min(rate / 6, 40))
        perSecond = Double(rate) / 60
        tokens = Double(capacity)
        lastRefill = clock.now
    }

    /// Takes one token, waiting as long as needed; returns how long it waited.
    /// A cancelled task stops waiting early (the call it guards will then fail as cancelled).
    @discardableResult
    public func acquire() async -> Duration {
        let start = clock.now
        refill(at: start)
        tokens -= 1
        // Until `lastRefill` (in the future after a penalty) nothing accrues; after it, the deficit
        // takes deficit / rate seconds to refill.
        var wait = start < lastRefill ? lastRefill - start : .zero
        if tokens < 0 { wait += .milliseconds(Int64((-tokens / perSecond * 1000).rounded(.up))) }
        if let until = penaltyUntil, until > start { wait = max(wait, until - start) }
        if wait > .zero { try? await clock.sleep(for: wait) }
        // A 429 seen by someone else while we slept holds us back too.
        while !Task.isCancelled, let until = penaltyUntil, until > clock.now {
            try? await clock.sleep(until: until)
        }
        return clock.now - start
    }

    /// After a 429: nobody gets a token before `retryAfter` has passed, and the bucket restarts
    /// empty so the requests queued behind the penalty do not burst out at once.
    public func penalize(retryAfter: Duration) {
        let now = clock.now
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
