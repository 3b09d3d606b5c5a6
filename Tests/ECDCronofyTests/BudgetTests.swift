import ECDSync
import ECDTestSupport
import Foundation
import Testing
@testable import ECDCronofy

@Suite struct BudgetTests {
    @Test func defaultCapacityAvoidsBurstsBeyondFiftyPerSecond() {
        #expect(RequestBudget(requestsPerMinute: 500).capacity == 40)
        #expect(RequestBudget(requestsPerMinute: 120).capacity == 20)
        #expect(RequestBudget(requestsPerMinute: 3).capacity == 1)
        #expect(RequestBudget(requestsPerMinute: 0).requestsPerMinute == 1)
        #expect(RequestBudget(requestsPerMinute: 500, burst: 5).capacity == 5)
    }

    // Upper bounds on waiting use the durations `acquire` reports (measured inside the actor, so a
    // busy scheduler delaying the caller does not count) and rates slow enough that a wrong wait
    // would be far above the bound; lower bounds are exact.
    @Test func burstWithinCapacityDoesNotWait() async {
        // 6/min: a token beyond the bucket would take 10 s.
        let budget = RequestBudget(requestsPerMinute: 6, burst: 10)
        var waited = Duration.zero
        for _ in 0..<10 { waited += await budget.acquire() }
        #expect(waited < .seconds(1))
    }

    @Test func burstBeyondCapacityWaitsForRefill() async {
        // 120/min = 2/s, so each token beyond the burst of 3 takes 500 ms.
        let start = ContinuousClock.now   // before the bucket starts refilling
        let budget = RequestBudget(requestsPerMinute: 120, burst: 3)
        var burst = Duration.zero
        for _ in 0..<3 { burst += await budget.acquire() }
        #expect(burst < .milliseconds(250))
        var waits: [Duration] = []
        for _ in 0..<2 { waits.append(await budget.acquire()) }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(995))      // 2 tokens at 500 ms each, minus clock slack
        #expect(elapsed < .seconds(10))
        #expect(waits.allSatisfy { $0 > .zero })
    }

    @Test func concurrentWaitersAreSpreadOverTime() async {
        let start = ContinuousClock.now   // before the bucket starts refilling
        let budget = RequestBudget(requestsPerMinute: 6000, burst: 2)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<12 { group.addTask { await budget.acquire() } }
        }
        // 10 tokens beyond the burst at 100/s.
        #expect(ContinuousClock.now - start >= .milliseconds(90))
    }

    @Test func aWaitLongerThanTheMaximumIsRefusedAtOnceWithoutTakingAToken() async {
        // 6/min: the token after the burst of 1 takes 10 s, far past a 200 ms maximum.
        let budget = RequestBudget(requestsPerMinute: 6, burst: 1, maxWait: .milliseconds(200))
        #expect(await budget.acquire(within: budget.maxWait) != nil)
        let start = ContinuousClock.now
        #expect(await budget.acquire(within: budget.maxWait) == nil)
        #expect(await budget.acquire(within: budget.maxWait) == nil)
        #expect(ContinuousClock.now - start < .seconds(2))
        // A refused call took nothing: with the refill of one token the next caller gets it.
        let refilled = RequestBudget(requestsPerMinute: 600, burst: 1, maxWait: .milliseconds(200))
        #expect(await refilled.acquire(within: refilled.maxWait) != nil)
        #expect(await refilled.acquire(within: .zero) == nil)
        #expect(await refilled.acquire(within: refilled.maxWait) != nil)   // one token in 100 ms
    }

    @Test func aPenaltyPastTheMaximumIsRefusedToo() async {
        let budget = RequestBudget(requestsPerMinute: 600_000, burst: 100)
        await budget.penalize(retryAfter: .seconds(60))
        let start = ContinuousClock.now
        #expect(await budget.acquire(within: .milliseconds(100)) == nil)
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func aClientWhoseBudgetIsSpentFailsRateLimitedWithoutCallingCronofy() async {
        let transport = RecordingTransport(status: 200, json: #"{"sub":"ser_1"}"#)
        let client = CronofyClient(configuration: Fixture.configuration(), transport: transport,
                                   budget: RequestBudget(requestsPerMinute: 1, burst: 1, maxWait: .milliseconds(100)))
        _ = try? await client.userInfo(accessToken: "token-1")
        let start = ContinuousClock.now
        await #expect(throws: CronofyError.rateLimited(retryAfter: .milliseconds(100))) {
            _ = try await client.userInfo(accessToken: "token-1")
        }
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(transport.requests.count == 1)
    }

    @Test func penaltyHoldsEveryoneBack() async {
        let budget = RequestBudget(requestsPerMinute: 600_000, burst: 100)
        let penalized = ContinuousClock.now
        await budget.penalize(retryAfter: .milliseconds(150))
        async let first: ContinuousClock.Instant = { await budget.acquire(); return .now }()
        async let second: ContinuousClock.Instant = { await budget.acquire(); return .now }()
        let done = await [first, second]
        // Measured from the penalty, so a slow scheduler cannot make this pass or fail spuriously.
        #expect(done.allSatisfy { $0 - penalized >= .milliseconds(150) })
    }

    @Test func penaltyReachesWaitersAlreadyAsleep() async {
        // 30/min: after the burst of 1, the next token is due 2 s on. A 2.5 s penalty issued
        // while the waiter sleeps for it must hold that waiter back too. The budget keeps the
        // test's time: the penalty comes once the waiter is known to be asleep, and time moves
        // only when the test moves it, so a late-scheduled task cannot change the story.
        let clock = ManualClock()
        let budget = RequestBudget(requestsPerMinute: 30, burst: 1, clock: clock.budgetClock)
        await budget.acquire()
        let waiter = Task { await budget.acquire() }
        #expect(await clock.settles { $0 == 1 }, "the waiter never went to sleep")
        clock.advance(by: .milliseconds(500))
        await budget.penalize(retryAfter: .milliseconds(2500))   // nobody before 3 s
        // At 2 s the waiter's own sleep ends; the penalty sends it back to sleep until 3 s.
        clock.advance(by: .milliseconds(1500))
        #expect(await clock.settles { $0 == 1 }, "the waiter left at 2 s, inside the penalty")
        clock.advance(by: .seconds(1))
        #expect(await waiter.value == .seconds(3))
    }
}

/// A clock for `RequestBudget` that stands still until `advance` moves it, waking the sleepers
/// whose instant has come.
final class ManualClock: Sendable {
    private struct State {
        var now = ContinuousClock.now
        var sleepers: [(until: ContinuousClock.Instant, wake: CheckedContinuation<Void, Never>)] = []
    }
    private let state = Locked(State())

    var budgetClock: BudgetClock {
        BudgetClock(now: { self.state.withLock { $0.now } }, sleep: { until in
            await withCheckedContinuation { continuation in
                let due = self.state.withLock { state -> Bool in
                    guard until > state.now else { return true }
                    state.sleepers.append((until, continuation))
                    return false
                }
                if due { continuation.resume() }
            }
        })
    }

    func advance(by duration: Duration) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.now += duration
            let now = state.now
            let due = state.sleepers.filter { $0.until <= now }.map(\.wake)
            state.sleepers.removeAll { $0.until <= now }
            return due
        }
        for continuation in woken { continuation.resume() }
    }

    /// Whether the number of sleepers comes to satisfy `condition` (polled; the real-time limit
    /// only stops a hang, it is no part of what is measured).
    func settles(_ condition: @escaping @Sendable (Int) -> Bool) async -> Bool {
        await eventually(timeout: .seconds(30)) { condition(self.state.withLock { $0.sleepers.count }) }
    }
}
