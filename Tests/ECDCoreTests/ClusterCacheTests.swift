import ECDSimulator
import ECDTestSupport
import Foundation
import Testing
@testable import ECDCore

/// Token caches of two nodes on one PostgreSQL stay coherent (issue 16): after a refresh or a
/// revoke on one node, the other never serves the old token; checked within 1 s by polling.
@Suite("Cluster: token cache coherence", .serialized)
struct ClusterCacheTests {
    static let jane = "jane@example.com"

    /// Node B's answer from its cache alone (nil: not cached, B would read the database).
    static func cached(_ node: EnterpriseConnect) -> String? {
        if case .ready(let token) = node.token(email: jane, minValidity: .zero) { return token.accessToken }
        return nil
    }

    @Test func anotherNodesRefreshAndRevokeReachThisNodesCache() async throws {
        let harness = try Harness(driver: .postgres)
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: Self.jane, scope: "read_events")])
        _ = try await harness.waitForStatus(Self.jane, .active)

        let other = try harness.openAnother()
        other.start()
        let feed = try #require(other.vault.grantFeed as? PostgresGrantFeed)
        #expect(feed.waitUntilListening(timeout: .seconds(10)))
        // B reads from the database, then serves the token from its cache. (A read that straddles
        // a change A commits meanwhile is served but not cached: read until one is.)
        #expect(await eventually {
            _ = try? await other.token(email: Self.jane, minValidity: .zero).value()
            return Self.cached(other) != nil
        })
        let old = try #require(Self.cached(other))

        // A refreshes: within 1 s B no longer serves the old token, and reads the new one.
        let refreshed = try await harness.core.refresh(email: Self.jane).accessToken
        #expect(refreshed != old)
        #expect(await eventually(timeout: .seconds(1), every: .milliseconds(5)) { Self.cached(other) != old })
        #expect(try await other.token(email: Self.jane, minValidity: .zero).value().accessToken == refreshed)

        // A revokes: within 1 s B serves no token at all.
        _ = try await harness.core.revokeAccount(email: Self.jane, localOnly: true)
        #expect(await eventually(timeout: .seconds(1), every: .milliseconds(5)) { Self.cached(other) == nil })
        await #expect(throws: CoreError.self) { try await other.token(email: Self.jane, minValidity: .zero).value() }
        #expect(await other.readiness().isEmpty)

        await other.shutdown()
        await harness.stop()
    }
}
