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
        // 30/min: after the burst of 1, the next token is due in 2 s. A 2.5 s penalty issued
        // meanwhile must hold that sleeping waiter back too. The 2 s window keeps the penalty
        // landing while the waiter sleeps even when this task is scheduled late.
        let budget = RequestBudget(requestsPerMinute: 30, burst: 1)
        await budget.acquire()
        async let waiter: ContinuousClock.Instant = { await budget.acquire(); return .now }()
        try? await Task.sleep(for: .milliseconds(20))
        let penalized = ContinuousClock.now
        await budget.penalize(retryAfter: .milliseconds(2500))
        let done = await waiter
        #expect(done - penalized >= .milliseconds(2500))
    }
}
