import ECDCore
import ECDSQLite
import ECDTestSupport
import Foundation
import Testing

@Suite("The token route's hot path", .serialized)
struct HotPathTests {
    /// Once a token is cached, asking for it is answered from memory: no Cronofy call, and the
    /// reads are recorded for refresh-ahead in one batched write per flush, not one per read. (How
    /// fast that is belongs to the benchmarks, not to a test on a shared machine.)
    /// SQLite only: it counts the writes with a trigger of SQLite's in the test's database (the
    /// cache and its flush are the same code on either driver).
    @Test func cachedLookupsAreServedFromMemory() async throws {
        // No recent-use window, so every flush takes the reads since the last (a real window
        // lets a flushed read go unmarked for a twelfth of it: `TokenCacheTests`).
        let harness = try Harness(tune: { $0.recentUseWindow = .zero })
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "hot@example.com", scope: "read_events")])
        _ = try await harness.waitForStatus("hot@example.com", .active)
        let core = harness.core
        let database = harness.database
        // Every write of last_used_at is counted by a trigger in the test's own database.
        try await database.asyncWrite {
            try $0.execute("CREATE TABLE last_used_writes (n INTEGER)")
            try $0.execute("""
                CREATE TRIGGER count_last_used AFTER UPDATE OF last_used_at ON accounts
                BEGIN INSERT INTO last_used_writes VALUES (1); END
                """)
        }
        @Sendable func writes() throws -> Int {
            try database.read { try $0.queryOne("SELECT count(*) AS n FROM last_used_writes")?.optional("n") as Int? } ?? 0
        }
        @Sendable func lastUsed() throws -> Date? {
            try database.read {
                try $0.queryOne("SELECT last_used_at FROM accounts WHERE email_key = 'hot@example.com'")?.optional("last_used_at") as Date?
            }
        }
        // "active" is visible in the database a moment before the inbox worker has put the new
        // token in the cache (it does so once its commit returns): the first read may load it.
        let first = try await core.token(email: "hot@example.com", minValidity: .seconds(60)).value()
        // That first read is flushed by a sweep (every 200 ms here). Then the column is cleared,
        // so that a value found at the end can only come from the cached reads below.
        #expect(try await eventually { try writes() >= 1 })
        try await database.asyncWrite { try $0.execute("UPDATE accounts SET last_used_at = NULL") }
        #expect(try lastUsed() == nil)
        let baseline = try writes()

        let tokenCalls = harness.simulator.control.calls(.token).count
        let start = ContinuousClock.now
        let rounds = 10_000
        var bytes = 0
        var hits = 0
        for _ in 0..<rounds {
            if case .ready(let token) = core.token(email: "hot@example.com", minValidity: .seconds(60)) {
                hits += 1
                bytes += token.jsonBytes().count
            }
        }
        #expect(hits == rounds)
        if case .ready(let token) = core.token(email: "hot@example.com", minValidity: .seconds(60)) {
            #expect(token.accessToken == first.accessToken)
        }
        #expect(bytes > rounds * 100)
        #expect(harness.simulator.control.calls(.token).count == tokenCalls)
        await harness.core.shutdown()   // flushes what the sweeps have not yet
        let elapsed = ContinuousClock.now - start
        #expect(try lastUsed() != nil)
        // At most one write per flush that could have run meanwhile (a sweep every 200 ms, and
        // the one at shutdown), never one per read.
        let written = try writes() - baseline
        #expect(written >= 1)
        #expect(written <= 2 + Int(elapsed / harness.configuration.sweepInterval), "\(written) writes in \(elapsed)")
        await harness.stop()
    }

    @Test func handWrittenJSONEscapes() throws {
        let token = AccessToken(accessToken: "a\"b\\c\n\u{1}é", expiresAt: Date(timeIntervalSince1970: 0), scope: "s",
                                accountID: nil, sub: "acc_1", apiURL: "https://api.cronofy.com")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(token.jsonBytes())) as? [String: Any])
        #expect(object["access_token"] as? String == "a\"b\\c\n\u{1}é")
        #expect(object["expires_at"] as? String == "1970-01-01T00:00:00Z")
        #expect(object["expires_in"] as? Int == 0)
        #expect(ISO8601.string(from: Date(timeIntervalSince1970: 4_102_444_799)) == "2099-12-31T23:59:59Z")
    }
}
