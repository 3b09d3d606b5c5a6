@testable import ECDCore
import ECDSimulator
import ECDSQLite
import ECDTestSupport
import Foundation
import Testing

/// Cronofy refuses a service account's revocation, so it stays `pending` and is retried in the
/// background; the admin then reconnects the service account through a connect link. The
/// reconnect stands: the retry, once due, must not revoke the new connection nor, by Cronofy's
/// cascade, the accounts under it.
@Suite("Revocation superseded by a reconnect", .serialized)
struct RevokeReconnectTests {
    @Test(arguments: StorageDriver.allCases) func aReconnectEndsTheRetriedRevocation(driver: StorageDriver) async throws {
        // The background sweep runs once at start only: the test makes the retry due and runs it itself.
        let harness = try Harness(driver: driver, tune: { $0.sweepInterval = .seconds(3600) })
        let core = harness.core
        let serviceAccount = try await harness.connectServiceAccount()
        core.start()
        let emails = ["a@example.com", "b@example.com"]
        _ = try await core.requestAccounts(emails.map { AccountRequestEntry(email: $0, scope: "read_events") })
        for email in emails { _ = try await harness.waitForStatus(email, .active) }
        var accountTokens: [String: String] = [:]
        for email in emails {
            accountTokens[email] = try await core.token(email: email, minValidity: .seconds(60)).value().accessToken
        }

        harness.simulator.control.fail(.revoke, with: .invalidClient, times: 100)
        await #expect(throws: CoreError.self) { try await core.revokeServiceAccount(id: serviceAccount.id) }
        #expect(try await core.serviceAccount(id: serviceAccount.id).revocation == "pending")
        let old = try await core.serviceAccountToken(id: serviceAccount.id, minValidity: .seconds(60)).accessToken

        let reconnected = try await harness.connectServiceAccount()
        #expect(reconnected.id == serviceAccount.id && reconnected.status == .active && reconnected.revocation == nil)
        let connected = try #require(try await harness.allEvents().last { $0.type == .serviceAccountConnected })
        #expect(connected.data["reconnected"] == .bool(true) && connected.data["revocation_superseded"] == .bool(true))

        // Cronofy accepts again, and any retry there was would be due now.
        harness.simulator.control.clearFaults()
        try await harness.execute("UPDATE service_accounts SET revoke_next_at = ? WHERE revoke_next_at IS NOT NULL",
                                  [Date(timeIntervalSince1970: 0)])
        await core.retryRevocations()

        #expect(harness.simulator.control.calls(.revoke).allSatisfy { $0.status != 200 })
        let kept = try await core.serviceAccount(id: serviceAccount.id)
        #expect(kept.status == .active && kept.revocation == nil)
        let fresh = try await core.serviceAccountToken(id: serviceAccount.id, minValidity: .seconds(60)).accessToken
        #expect(fresh != old)
        _ = try await harness.cronofy.userInfo(accessToken: fresh)   // the new grant is alive at Cronofy
        for email in emails {
            let account = try await core.account(email: email)
            #expect(account.status == .active && account.revocation == nil)
            let token = try await core.token(email: email, minValidity: .seconds(60)).value().accessToken
            #expect(token == accountTokens[email])
            _ = try await harness.cronofy.userInfo(accessToken: token)
        }
        #expect(!(try await harness.allEvents().contains { $0.type == .serviceAccountRevoked || $0.type == .accountRevoked }))
        await harness.stop()
    }
}
