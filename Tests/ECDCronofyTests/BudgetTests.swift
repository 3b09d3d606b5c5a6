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

    @Test func burstWithinCapacityDoesNotWait() async {
        let budget = RequestBudget(requestsPerMinute: 600, burst: 10)
        var waited = Duration.zero
        for _ in 0..<10 { waited += await budget.acquire() }
        #expect(waited < .milliseconds(20))
    }

    @Test func burstBeyondCapacityWaitsForRefill() async {
        // 6000/min = 100/s, so each token beyond the burst of 5 takes 10 ms.
        let budget = RequestBudget(requestsPerMinute: 6000, burst: 5)
        let start = ContinuousClock.now
        for _ in 0..<5 { await budget.acquire() }
        #expect(ContinuousClock.now - start < .milliseconds(20))
        var waits: [Duration] = []
        for _ in 0..<5 { waits.append(await budget.acquire()) }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(45))      // 5 tokens at 10 ms each, minus clock slack
        #expect(elapsed < .seconds(2))
        #expect(waits.allSatisfy { $0 > .zero })
    }

    @Test func concurrentWaitersAreSpreadOverTime() async {
        let budget = RequestBudget(requestsPerMinute: 6000, burst: 2)
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<12 { group.addTask { await budget.acquire() } }
        }
        // 10 tokens beyond the burst at 100/s.
        #expect(ContinuousClock.now - start >= .milliseconds(90))
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
        // 240/min: after the burst of 1, the next token is due in 250 ms. A 400 ms penalty issued
        // meanwhile must hold that sleeping waiter back too.
        let budget = RequestBudget(requestsPerMinute: 240, burst: 1)
        await budget.acquire()
        async let waiter: ContinuousClock.Instant = { await budget.acquire(); return .now }()
        try? await Task.sleep(for: .milliseconds(20))
        let penalized = ContinuousClock.now
        await budget.penalize(retryAfter: .milliseconds(400))
        let done = await waiter
        #expect(done - penalized >= .milliseconds(400))
    }
}
