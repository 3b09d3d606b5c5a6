import ECDCorePostgres
import ECDCronofy
import ECDPostgres
import ECDTestSupport
import Foundation
import Logging
import Testing
@testable import ECDCore

/// The cluster's one Cronofy budget (`PostgresRequestBudget`, issue 16 item 3), two nodes as two
/// budgets on two pools of one PostgreSQL database: one burst between them, a 429 seen by one
/// holds back the other (its waiters already asleep included), and a database that cannot be
/// reached does not block a call. The three-process storm is `ClusterBudgetTests` (ECDAppTests).
@Suite("Cluster: one Cronofy request budget", .serialized)
struct SharedBudgetTests {
    static let logger = Logger(label: "shared-budget-test")

    /// Two nodes on a fresh database; `body` gets their budgets. Rates low enough that a loaded
    /// machine's pauses between takes refill nothing the test counts on.
    static func withTwoNodes(perMinute: Int, burst: Int, _ body: (PostgresRequestBudget, PostgresRequestBudget) async throws -> Void)
        async throws {
        let fixture = try StorageFixture(.postgres)
        defer { fixture.destroy() }
        let pools = [try #require(try fixture.postgresPool()), try #require(try fixture.postgresPool())]
        defer { pools.forEach { $0.close() } }
        let budgets = pools.map {
            PostgresRequestBudget(pool: $0, requestsPerMinute: perMinute, burst: burst, maxWait: .seconds(20), logger: logger)
        }
        try await body(budgets[0], budgets[1])
    }

    @Test func twoNodesShareOneBurst() async throws {
        // One a minute after a burst of 10.
        try await Self.withTwoNodes(perMinute: 1, burst: 10) { a, b in
            // The ten of the burst, alternating: none waits.
            for index in 0..<10 {
                let waited = await (index.isMultiple(of: 2) ? a : b).acquire(within: .zero)
                #expect(waited == .zero, "take \(index + 1) of the burst")
            }
            // The eleventh, on either node, would wait about a minute: refused by a caller that
            // waits for nothing or for 30 s (a budget per node would still hold five each).
            #expect(await b.acquire(within: .zero) == nil)
            #expect(await a.acquire(within: .seconds(30)) == nil)
        }
    }

    @Test func aPenaltyOnOneNodeHoldsTheOtherBack() async throws {
        try await Self.withTwoNodes(perMinute: 60, burst: 10) { a, b in
            #expect(await b.acquire(within: .zero) == .zero)
            await a.penalize(retryAfter: .seconds(30))
            // B's next call would wait 30 s: more than it accepts.
            #expect(await b.acquire(within: .seconds(5)) == nil)
        }
    }

    @Test func aPenaltyReachesAnotherNodesWaiterAsleep() async throws {
        // One every 3 s, a burst of 1.
        try await Self.withTwoNodes(perMinute: 20, burst: 1) { a, b in
            #expect(await a.acquire(within: .zero) == .zero)
            // B's take waits for the refill (up to 3 s); while it sleeps, A sees a 429 of 4 s.
            let waiter = Task { await b.acquire(within: .seconds(10)) }
            try await Task.sleep(for: .milliseconds(300))
            let penalized = ContinuousClock.now
            await a.penalize(retryAfter: .seconds(4))
            #expect(await waiter.value != nil)
            // Measured from the penalty: B left no earlier than its end (its own wait ended sooner).
            #expect(penalized.duration(to: .now) >= .milliseconds(3900))
        }
    }

    @Test func anUnreachableDatabaseFallsBackToTheNodesShare() async throws {
        // A server of its own: this test stops it.
        let server = try PostgresTestServer.start()
        defer { server.destroy() }
        let name = try server.makeDatabase()
        let pools = (0..<2).map { _ in PostgresPool(CorePostgresFixture.configuration(server, database: name, poolSize: 1)) }
        defer { pools.forEach { $0.close() } }
        try CorePostgresSchema.migrate(pools[0])
        // Two a minute after a burst of 10.
        let a = PostgresRequestBudget(pool: pools[0], requestsPerMinute: 2, burst: 10, maxWait: .seconds(1), logger: Self.logger)
        let b = PostgresRequestBudget(pool: pools[1], requestsPerMinute: 2, burst: 10, maxWait: .seconds(1), logger: Self.logger)
        #expect(await b.acquire(within: .zero) == .zero)
        #expect(await a.acquire(within: .zero) == .zero)   // A learns that two nodes draw on it

        server.stop()
        let started = ContinuousClock.now
        // A's share: one a minute, a burst of 5, taken at once without the database; then its limit.
        for index in 0..<5 {
            let waited = await a.acquire(within: .zero)
            #expect(waited.map { $0 < .milliseconds(100) } == true, "take \(index + 1): \(String(describing: waited))")
        }
        #expect(await a.acquire(within: .zero) == nil)
        #expect(started.duration(to: .now) < .seconds(10))
    }
}
