import ECDCore
import ECDCronofy
import ECDSimulator
import Foundation
import Logging
import Testing

/// Issue 11: where Cronofy's answer is lost, late or ambiguous, ecd repairs what it can by itself.
/// Every test runs against the simulator over real sockets.
@Suite("Cronofy at the edges", .serialized)
struct CronofyEdgeTests {
    static let jane = "jane@example.com"

    func activeAccount(_ harness: Harness, _ email: String = jane) async throws {
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: email, scope: "read_events")])
        _ = try await harness.waitForStatus(email, .active)
    }

    func refreshCalls(_ harness: Harness) -> [SimulatorCall] {
        harness.simulator.control.calls(.token).filter { $0.body.contains("refresh_token") }
    }

    /// Item 1: the simulator rotates the refresh token and answers after the client gave up (3 s).
    /// The client must not repeat the refresh with the spent token; the account stays active and
    /// its still-valid token is served.
    @Test func aLostRefreshAnswerIsNotRetried() async throws {
        let harness = try Harness()
        try await activeAccount(harness)
        await harness.core.shutdown()
        let before = refreshCalls(harness).count
        let old = try await harness.core.token(email: Self.jane, minValidity: .seconds(60)).value()
        harness.simulator.control.fail(.token, with: .slow(.milliseconds(3500)))
        let served = try await harness.core.token(email: Self.jane, minValidity: .seconds(100_000)).value()
        #expect(served.accessToken == old.accessToken)
        #expect(try harness.core.account(email: Self.jane).status == .active)
        // The simulator records the call once it has answered (late); no second one follows.
        #expect(try await harness.eventually { refreshCalls(harness).count - before >= 1 })
        #expect(refreshCalls(harness).count - before == 1)
        #expect(try harness.core.account(email: Self.jane).status == .active)
        await harness.stop()
    }

    /// Item 1: another refresher (its lease ran out while Cronofy was slow) rotated the token this
    /// one spends; the refused refresh re-reads the stored tokens and serves the winner's.
    @Test func aRefusedRefreshRereadsTheStoredTokensFirst() async throws {
        let harness = try Harness { $0.refreshLeaseDuration = .milliseconds(300) }
        try await activeAccount(harness)
        await harness.core.shutdown()
        let other = EnterpriseConnect(configuration: harness.configuration, database: harness.database,
                                      keyring: harness.keyring, cronofy: harness.cronofy,
                                      logger: Logger(label: "ecd.core.test.other"), webhookTransport: URLSessionTransport())
        // First refresh: rotated at once, answered after 1.5 s. Second: refused (spent token), answered after 2 s.
        harness.simulator.control.fail(.token, with: .slow(.milliseconds(1500)))
        harness.simulator.control.fail(.token, with: .slow(.milliseconds(2000)))
        let core = harness.core
        async let first = core.refresh(email: Self.jane)
        // The first refresher holds the lease, and its lease has run out while Cronofy is slow.
        let expired = try await harness.eventually {
            let until: Date? = try harness.database.read { connection in
                try connection.queryOne("SELECT lease_until FROM accounts WHERE email_key = ?", [Self.jane])?.optional("lease_until")
            }
            return until.map { $0 < Date() } ?? false
        }
        #expect(expired)
        let second = try await other.refresh(email: Self.jane)
        let winner = try await first
        #expect(second.accessToken == winner.accessToken)
        #expect(refreshCalls(harness).suffix(2).map(\.status) == [200, 400])
        #expect(try harness.core.account(email: Self.jane).status == .active)
        #expect(!(try harness.allEvents().contains { $0.type == .accountReauthorizationRequired }))
        await other.shutdown()
        await harness.stop()
    }

    func storedSecrets(_ harness: Harness, email: String) async throws -> Int {
        try await harness.database.asyncRead { connection in
            let row = try connection.queryOne(
                "SELECT (access_token IS NOT NULL) + (refresh_token IS NOT NULL) AS n FROM accounts WHERE email_key = ?", [email])
            return Int(row?.optional("n") as Int64? ?? -1)
        }
    }

    /// Item 4: `invalid_client` from the revoke endpoint says nothing about the grant. The tokens
    /// stay, the caller hears 502 `cronofy_revoke_failed` with Cronofy's answer, and the background
    /// retries until Cronofy confirms.
    @Test func aRefusedRevocationKeepsTheTokensAndIsRetried() async throws {
        let harness = try Harness()
        try await activeAccount(harness)
        // Both the token and the sub attempt are refused.
        harness.simulator.control.fail(.revoke, with: .invalidClient, times: 2)
        do {
            _ = try await harness.core.revokeAccount(email: Self.jane)
            Issue.record("a refused revocation was reported as done")
        } catch let error as CoreError {
            guard case .cronofyRevokeFailed(let message) = error else { Issue.record("\(error)"); return }
            #expect(error.httpStatus == 502 && error.code == "cronofy_revoke_failed")
            #expect(message.contains("invalid_client"))
        }
        let kept = try harness.core.account(email: Self.jane)
        #expect(kept.status == .active && kept.revocation == "pending")
        #expect(try await storedSecrets(harness, email: Self.jane) == 2)
        #expect(try harness.allEvents().last?.type == .accountRevokeFailed)
        // Cronofy accepts again: the background retry finishes the revocation by itself.
        let revoked = try await harness.waitForStatus(Self.jane, .revoked)
        #expect(revoked.revocation == nil)
        #expect(try await storedSecrets(harness, email: Self.jane) == 0)
        #expect(harness.simulator.control.calls(.revoke).last?.status == 200)
        await harness.stop()
    }

    /// Item 4: an operator gives up; the tokens are erased here and the record says Cronofy may
    /// still hold the grant. Cronofy is not asked.
    @Test func localOnlyRevocationErasesAndSaysSo() async throws {
        let harness = try Harness()
        try await activeAccount(harness)
        await harness.core.shutdown()   // no background retry in between
        harness.simulator.control.fail(.revoke, with: .serverError, times: 100)
        await #expect(throws: CoreError.self) { try await harness.core.revokeAccount(email: Self.jane) }
        let calls = harness.simulator.control.calls(.revoke).count
        let erased = try await harness.core.revokeAccount(email: Self.jane, localOnly: true)
        #expect(erased.status == .revoked && erased.revocation == "local_only")
        #expect(harness.simulator.control.calls(.revoke).count == calls)
        #expect(try await storedSecrets(harness, email: Self.jane) == 0)
        let event = try #require(try harness.allEvents().last)
        #expect(event.type == .accountRevoked && event.data["local_only"] == .bool(true))
        harness.simulator.control.clearFaults()
        await harness.stop()
    }
}
