import ECDCore
import ECDSimulator
import ECDTestSupport
import Foundation
import Testing

@Suite("Token vault and refresher against injected faults", .serialized)
struct RefreshTests {
    /// A connected service account and one active account; background work stopped afterwards so
    /// that only the test triggers refreshes.
    func activeAccount(_ harness: Harness, _ email: String = "jane@example.com") async throws {
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: email, scope: "read_events")])
        _ = try await harness.waitForStatus(email, .active)
        await harness.core.shutdown()
    }

    func refreshCalls(_ harness: Harness) -> Int {
        harness.simulator.control.calls(.token).filter { $0.body.contains("refresh_token") && $0.status == 200 }.count
    }

    func tokenLifetime(_ seconds: Int) -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration()
        configuration.tokenLifetime = .seconds(seconds)
        return configuration
    }

    @Test(arguments: StorageDriver.allCases) func fiftyParallelReadsShareOneRefresh(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver, simulator: tokenLifetime(30))
        try await activeAccount(harness)
        let core = harness.core
        let before = refreshCalls(harness)
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 {
                group.addTask { try await core.token(email: "jane@example.com", minValidity: .seconds(60)).value().accessToken }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(refreshCalls(harness) - before == 1)
        #expect(Set(tokens).count == 1)
        // The fresh token is shorter than asked for, and is returned anyway.
        let fresh = try await core.token(email: "jane@example.com", minValidity: .seconds(60)).value()
        #expect(fresh.expiresIn() <= 30)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func forcedRefreshRotatesAndKeepsWorking(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        try await activeAccount(harness)
        let first = try await harness.core.token(email: "jane@example.com", minValidity: .seconds(60)).value()
        let second = try await harness.core.refresh(email: "jane@example.com")
        let third = try await harness.core.refresh(email: "JANE@example.com")
        #expect(Set([first.accessToken, second.accessToken, third.accessToken]).count == 3)
        guard case .ready(let cached) = harness.core.token(email: "jane@example.com", minValidity: .seconds(60)) else {
            Issue.record("the refreshed token was not cached"); return
        }
        #expect(cached.accessToken == third.accessToken)
        #expect(try await harness.core.account(email: "jane@example.com").status == .active)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases, [SimulatorFault.serverError, .rateLimited(retryAfterSeconds: 0)])
    func transientFailuresKeepServingTheValidToken(driver: StorageDriver, _ fault: SimulatorFault) async throws {
        let harness = try Harness(driver: driver, simulator: tokenLifetime(120))
        try await activeAccount(harness)
        let old = try await harness.core.token(email: "jane@example.com", minValidity: .seconds(60)).value()
        harness.simulator.control.fail(.token, with: fault, times: 2)
        // Wants more validity than the token has: a refresh is attempted, fails, the old token is served.
        let served = try await harness.core.token(email: "jane@example.com", minValidity: .seconds(600)).value()
        let failedAt = ContinuousClock.now
        #expect(served.accessToken == old.accessToken)
        // Backing off: the next lazy read does not call Cronofy again. The first back-off is
        // 0.5–1 s (jittered), so the check holds only for a read made well within it: on a machine
        // so loaded that the read comes later, a second call is right and not judged here.
        let calls = harness.simulator.control.calls(.token).count
        _ = try await harness.core.token(email: "jane@example.com", minValidity: .seconds(600)).value()
        if ContinuousClock.now - failedAt < .milliseconds(300) {
            #expect(harness.simulator.control.calls(.token).count == calls)
        }
        #expect(try await harness.core.account(email: "jane@example.com").status == .active)
        // A forced refresh that cannot reach Cronofy is a 503.
        harness.simulator.control.fail(.token, with: fault, times: 2)
        await #expect(throws: CoreError.self) { try await harness.core.refresh(email: "jane@example.com") }
        harness.simulator.control.clearFaults()
        let recovered = try await harness.core.refresh(email: "jane@example.com")
        #expect(recovered.accessToken != old.accessToken)
        await harness.stop()
    }

    /// Slower than usual but within the client's timeout: the refresh succeeds, once, for every
    /// concurrent reader. (A Cronofy slower than the timeout is a transient failure like a 500; if
    /// it then rotated the refresh token, the rotated one is lost: `reauthorization_required`.)
    @Test(arguments: StorageDriver.allCases) func slowCronofyStillRefreshesOnce(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver, simulator: tokenLifetime(120))
        try await activeAccount(harness)
        let old = try await harness.core.token(email: "jane@example.com", minValidity: .seconds(60)).value()
        harness.simulator.control.fail(.token, with: .slow(.seconds(1)), times: 1)
        let before = refreshCalls(harness)
        let core = harness.core
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<10 {
                group.addTask { try await core.token(email: "jane@example.com", minValidity: .seconds(600)).value().accessToken }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(refreshCalls(harness) - before == 1)
        #expect(Set(tokens).count == 1 && tokens[0] != old.accessToken)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func expiredTokenAndCronofyDownIsUnavailable(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver, simulator: tokenLifetime(1))
        try await activeAccount(harness)
        try await Task.sleep(for: .milliseconds(1100))
        harness.simulator.control.fail(.token, with: .serverError, times: 2)
        do {
            _ = try await harness.core.token(email: "jane@example.com", minValidity: .seconds(0)).value()
            Issue.record("an expired token was served")
        } catch let error as CoreError {
            guard case .cronofyUnavailable = error else { Issue.record("unexpected \(error)"); return }
        }
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func invalidGrantNeedsReauthorization(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        try await activeAccount(harness)
        #expect(harness.simulator.control.revokeAuthorization(email: "jane@example.com"))
        // ecd asks again through the service account by itself (in the background, so it runs
        // again here); Cronofy refuses that too.
        harness.simulator.control.refuse(email: "jane@example.com")
        await harness.close()
        try harness.open().start()
        await #expect(throws: CoreError.accountNotActive(status: .reauthorizing)) {
            try await harness.core.refresh(email: "jane@example.com")
        }
        #expect(try await harness.waitForStatus("jane@example.com", .reauthorizationRequired).status == .reauthorizationRequired)
        await #expect(throws: CoreError.accountNotActive(status: .reauthorizationRequired)) {
            try await harness.core.token(email: "jane@example.com", minValidity: .seconds(60)).value()
        }
        let event = try #require(try await harness.allEvents().last)
        #expect(event.type == .accountReauthorizationRequired)
        #expect(event.email == "jane@example.com")
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func serviceAccountLosingItsAuthorizationPutsAccountsAtRiskUntilReconnected(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        try await activeAccount(harness)
        let serviceAccount = try #require(try await harness.core.serviceAccounts().first)
        #expect(harness.simulator.control.revokeAuthorization(sub: serviceAccount.id))
        await #expect(throws: CoreError.self) {
            try await harness.core.serviceAccountToken(id: serviceAccount.id, minValidity: .seconds(7200))
        }
        #expect(try await harness.core.serviceAccount(id: serviceAccount.id).status == .reauthorizationRequired)
        let event = try #require(try await harness.allEvents().last { $0.type == .serviceAccountReauthorizationRequired })
        #expect(event.data["emails"] == .array(["jane@example.com"]))
        // The cascade also ended the account's authorization.
        await #expect(throws: CoreError.self) { try await harness.core.refresh(email: "jane@example.com") }
        // Reconnecting brings the service account back and asks for its accounts at risk again.
        harness.core.start()
        let again = try await harness.connectServiceAccount()
        #expect(again.id == serviceAccount.id)
        #expect(again.status == .active)
        let jane = try await harness.waitForStatus("jane@example.com", .active)
        let history = try await harness.allEvents().map { "\($0.type) \($0.data)" }
        #expect(jane.status == .active, "\(jane) \(history)")
        let reasons = try await harness.allEvents().filter { $0.type == .accountRequested }.compactMap { $0.data["reason"] }
        #expect(reasons == ["service_account_reconnected"])
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func refreshAheadOnlyForRecentlyReadAccounts(driver: StorageDriver) async throws {
        // A refresh that timed out on a loaded machine would back off, and the wait below would
        // wait for nothing: the simulator gets 30 s, not the harness's 3 s.
        let harness = try Harness(driver: driver, simulator: tokenLifetime(60), cronofyTimeout: .seconds(30)) { $0.refreshLead = .seconds(120) }
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "read@example.com", scope: "read_events"),
                                                    AccountRequestEntry(email: "idle@example.com", scope: "read_events")])
        _ = try await harness.waitForStatus("read@example.com", .active)
        _ = try await harness.waitForStatus("idle@example.com", .active)
        let idleExpiry = try await harness.core.account(email: "idle@example.com").tokenExpiresAt
        // The read account (and the service account) are refreshed ahead at every sweep; the idle
        // one is not. Two refreshes of the read account after its read mean a whole sweep ran
        // after the one that first refreshed it (a sweep awaits every refresh it starts), so an
        // idle account that sweeps wrongly picked would have been refreshed by then. The limit
        // only stops a hang.
        var seen: Set<String> = []
        let deadline = ContinuousClock.now + .seconds(60)
        while seen.count < 3 && ContinuousClock.now < deadline {
            seen.insert(try await harness.core.token(email: "read@example.com", minValidity: .zero).value().accessToken)
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(seen.count == 3, "the read account's token was not refreshed ahead twice")
        #expect(try await harness.core.account(email: "idle@example.com").tokenExpiresAt == idleExpiry)
        await harness.stop()
    }
}
