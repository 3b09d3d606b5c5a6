import ECDCore
import Foundation
import Testing

@Suite("The token route's hot path", .serialized)
struct HotPathTests {
    /// Once a token is cached, asking for it is answered from memory: no Cronofy call, and the
    /// reads are recorded for refresh-ahead in one batched write, not one per read. (How fast
    /// that is belongs to the benchmarks, not to a test on a shared machine.)
    @Test func cachedLookupsAreServedFromMemory() async throws {
        let harness = try Harness()
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "hot@example.com", scope: "read_events")])
        _ = try await harness.waitForStatus("hot@example.com", .active)
        let core = harness.core
        // "active" is visible in the database a moment before the inbox worker has put the new
        // token in the cache (it does so once its commit returns): the first read may load it.
        let first = try await core.token(email: "hot@example.com", minValidity: .seconds(60)).value()
        let tokenCalls = harness.simulator.control.calls(.token).count
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
        await harness.core.shutdown()
        let lastUsed = try await harness.database.asyncRead {
            try $0.queryOne("SELECT last_used_at FROM accounts WHERE email_key = 'hot@example.com'")?.optional("last_used_at") as Date?
        }
        #expect(lastUsed != nil)
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
