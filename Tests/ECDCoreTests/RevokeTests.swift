import ECDCore
import ECDCrypto
import ECDSimulator
import ECDSQLite
import ECDTestSupport
import Foundation
import Testing

@Suite("Revocation", .serialized)
struct RevokeTests {
    func setUp(_ driver: StorageDriver, _ emails: [String]) async throws -> (Harness, ServiceAccount) {
        let harness = try Harness(driver: driver)
        let serviceAccount = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts(emails.map { AccountRequestEntry(email: $0, scope: "read_events") })
        for email in emails { _ = try await harness.waitForStatus(email, .active) }
        return (harness, serviceAccount)
    }

    func storedSecrets(_ harness: Harness, email: String) async throws -> Int {
        let count = try await harness.cell(
            """
            SELECT CASE WHEN access_token IS NULL THEN 0 ELSE 1 END + CASE WHEN refresh_token IS NULL THEN 0 ELSE 1 END AS n
            FROM accounts WHERE email_key = ?
            """, [email])
        return Int(count?.int ?? -1)
    }

    @Test(arguments: StorageDriver.allCases) func revokingAnAccount(driver: StorageDriver) async throws {
        let (harness, _) = try await setUp(driver, ["jane@example.com", "bob@example.com"])
        #expect(try await storedSecrets(harness, email: "jane@example.com") == 2)
        let revoked = try await harness.core.revokeAccount(email: "Jane@example.com")
        #expect(revoked.status == .revoked)
        #expect(revoked.tokenExpiresAt == nil)
        #expect(try await storedSecrets(harness, email: "jane@example.com") == 0)
        let call = try #require(harness.simulator.control.calls(.revoke).last)
        #expect(call.status == 200 && call.body.contains("token"))
        await #expect(throws: CoreError.accountNotActive(status: .revoked)) {
            try await harness.core.token(email: "jane@example.com", minValidity: .seconds(60)).value()
        }
        #expect(try await harness.allEvents().last?.type == .accountRevoked)
        // Bob is untouched; an unknown account is a 404; revoking again is harmless.
        #expect(try await harness.core.account(email: "bob@example.com").status == .active)
        await #expect(throws: CoreError.notFound("no account nobody@example.com")) {
            try await harness.core.revokeAccount(email: "nobody@example.com")
        }
        #expect(try await harness.core.revokeAccount(email: "jane@example.com").status == .revoked)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func revokeFallsBackToSubAndCronofyDownChangesNothing(driver: StorageDriver) async throws {
        let (harness, _) = try await setUp(driver, ["jane@example.com"])
        harness.simulator.control.fail(.revoke, with: .serverError, times: 4)
        await #expect(throws: CoreError.self) { try await harness.core.revokeAccount(email: "jane@example.com") }
        #expect(try await harness.core.account(email: "jane@example.com").status == .active)
        #expect(try await storedSecrets(harness, email: "jane@example.com") == 2)
        harness.simulator.control.clearFaults()
        // Revoking by refresh token keeps failing (both client attempts): the sub still revokes.
        harness.simulator.control.fail(.revoke, with: .serverError, times: 2)
        let revoked = try await harness.core.revokeAccount(email: "jane@example.com")
        #expect(revoked.status == .revoked)
        let last = try #require(harness.simulator.control.calls(.revoke).last)
        #expect(last.status == 200 && last.body.contains("acc_"))
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func revokingTheServiceAccountCascades(driver: StorageDriver) async throws {
        let (harness, serviceAccount) = try await setUp(driver, ["a@example.com", "b@example.com"])
        harness.simulator.control.dropCallbacks(email: "c@example.com")
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "c@example.com", scope: "read_events")])
        let pendingCallback = try #require(await harness.simulator.control.waitForCallbacks(count: 3).first { $0.email == "c@example.com" })
        let revoked = try await harness.core.revokeServiceAccount(id: serviceAccount.id)
        #expect(revoked.status == .revoked)
        let accounts = try await harness.core.accounts(status: nil, serviceAccountID: serviceAccount.id, limit: 10, after: nil).accounts
        #expect(accounts.map(\.status) == [.revoked, .revoked, .revoked])
        for email in ["a@example.com", "b@example.com", "c@example.com"] { #expect(try await storedSecrets(harness, email: email) == 0) }
        let types = try await harness.allEvents().suffix(4).map(\.type)
        #expect(types == [.serviceAccountRevoked, .accountRevoked, .accountRevoked, .accountRevoked])
        await #expect(throws: CoreError.self) { try await harness.core.serviceAccountToken(id: serviceAccount.id, minValidity: .seconds(1)) }
        // The pending request's callback is no longer wanted.
        do {
            try await harness.core.receiveDelegatedCallback(requestID: String(pendingCallback.callbackURL.split(separator: "/").last!),
                                                            body: Array(pendingCallback.body.utf8), signatureHeader: nil)
            Issue.record("a callback for a revoked account was accepted")
        } catch let CoreError.callbackRejected(rejection) {
            #expect(callbackStatus(rejection) == 404)
        }
        // New requests through a revoked service account are refused.
        await #expect(throws: CoreError.self) {
            try await harness.core.requestAccounts([AccountRequestEntry(email: "d@example.com", serviceAccountID: serviceAccount.id)])
        }
        await harness.stop()
    }

    func revokeColumns(_ harness: Harness, email: String) async throws -> (state: String?, nextAt: Date?) {
        let row = try await harness.rows("SELECT revoke_state, revoke_next_at FROM accounts WHERE email_key = ?", [email]).first
        return (row?["revoke_state"]?.text, row?["revoke_next_at"]?.date)
    }

    /// A revocation Cronofy is slow to refuse, and an operator erasing the account here only
    /// meanwhile: the refusal that comes after the erase must not bring the revocation back to
    /// `pending` (it would be retried, and its confirmation would drop the `local_only` mark).
    /// DELETE repeated on an account already revoked, while Cronofy refuses: that revocation is
    /// `pending` and retried in the background. A request for the account meanwhile must be
    /// `409 account_revoking`, as for an active one: accepted, its new grant would be revoked and
    /// erased by the retry once it came due.
    @Test(arguments: StorageDriver.allCases) func aRequestWhileARepeatedRevocationIsRetriedIsRefused(driver: StorageDriver) async throws {
        let (harness, _) = try await setUp(driver, ["jane@example.com"])
        let core = harness.core
        _ = try await core.revokeAccount(email: "jane@example.com")
        harness.simulator.control.fail(.revoke, with: .serverError, times: 100)
        await #expect(throws: CoreError.self) { try await core.revokeAccount(email: "jane@example.com") }
        harness.simulator.control.clearFaults()
        #expect(try await revokeColumns(harness, email: "jane@example.com").state == "pending")
        await #expect(throws: CoreError.accountRevoking(emails: ["jane@example.com"])) {
            try await core.requestAccounts([AccountRequestEntry(email: "jane@example.com", scope: "read_events")])
        }
        // Giving the revocation up (local only) lets the account be requested again, and no retry follows.
        #expect(try await core.revokeAccount(email: "jane@example.com", localOnly: true).revocation == "local_only")
        _ = try await core.requestAccounts([AccountRequestEntry(email: "jane@example.com", scope: "read_events")])
        #expect(try await harness.waitForStatus("jane@example.com", .active).status == .active)
        #expect(try await revokeColumns(harness, email: "jane@example.com").state != "pending")
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func aLocalOnlyEraseDuringAFailingRevocationStands(driver: StorageDriver) async throws {
        let (harness, _) = try await setUp(driver, ["jane@example.com"])
        let core = harness.core
        await core.shutdown()   // no background retry in between
        // The first attempt outlives the client's 3 s timeout, every later one is a 500.
        harness.simulator.control.fail(.revoke, with: .slow(.milliseconds(3500)))
        harness.simulator.control.fail(.revoke, with: .serverError, times: 100)
        async let revoking: Result<Account, any Error> = { do { return .success(try await core.revokeAccount(email: "jane@example.com")) }
            catch { return .failure(error) } }()
        // Under way: the revocation is marked before Cronofy is asked, and a request meanwhile is refused.
        #expect(try await eventually { try await core.account(email: "jane@example.com").revocation == "pending" })
        await #expect(throws: CoreError.accountRevoking(emails: ["jane@example.com"])) {
            try await core.requestAccounts([AccountRequestEntry(email: "jane@example.com", scope: "read_events", renew: true)])
        }
        let erased = try await core.revokeAccount(email: "jane@example.com", localOnly: true)
        #expect(erased.status == .revoked && erased.revocation == "local_only")
        let eventsAfterErase = try await harness.allEvents().count
        guard case .failure(CoreError.cronofyRevokeFailed(let message)) = await revoking else {
            Issue.record("the refused revocation was not reported as failed"); return
        }
        #expect(message.contains("not retried"))
        let account = try await core.account(email: "jane@example.com")
        #expect(account.status == .revoked && account.revocation == "local_only")
        let columns = try await revokeColumns(harness, email: "jane@example.com")
        #expect(columns.state == "local_only" && columns.nextAt == nil)
        #expect(try await harness.allEvents().count == eventsAfterErase)   // no account.revoke_failed after the erase
        harness.simulator.control.clearFaults()
        await harness.stop()
    }

    /// The same race for a service account: erased here only while Cronofy is slow to refuse
    /// its revocation, it stays `local_only` and is not retried.
    @Test(arguments: StorageDriver.allCases) func aLocalOnlyEraseDuringAFailingServiceAccountRevocationStands(driver: StorageDriver) async throws {
        let (harness, serviceAccount) = try await setUp(driver, ["jane@example.com"])
        let core = harness.core
        await core.shutdown()
        harness.simulator.control.fail(.revoke, with: .slow(.milliseconds(3500)))
        harness.simulator.control.fail(.revoke, with: .serverError, times: 100)
        async let revoking: Result<ServiceAccount, any Error> = {
            do { return .success(try await core.revokeServiceAccount(id: serviceAccount.id)) } catch { return .failure(error) }
        }()
        #expect(try await eventually { try await core.serviceAccount(id: serviceAccount.id).revocation == "pending" })
        let erased = try await core.revokeServiceAccount(id: serviceAccount.id, localOnly: true)
        #expect(erased.status == .revoked && erased.revocation == "local_only")
        guard case .failure(CoreError.cronofyRevokeFailed(let message)) = await revoking else {
            Issue.record("the refused revocation was not reported as failed"); return
        }
        #expect(message.contains("not retried"))
        #expect(try await core.serviceAccount(id: serviceAccount.id).revocation == "local_only")
        #expect(try await core.account(email: "jane@example.com").revocation == "local_only")
        let pending = try await harness.cell(
            "SELECT count(*) AS n FROM service_accounts WHERE revoke_state = 'pending' OR revoke_next_at IS NOT NULL")?.int
        #expect(pending == 0)
        #expect(!(try await harness.allEvents().contains { $0.type == .serviceAccountRevokeFailed }))
        harness.simulator.control.clearFaults()
        await harness.stop()
    }

    /// A revocation supersedes a renewal in flight: it is cancelled when the revocation starts,
    /// even when Cronofy then refuses the revocation, so the renewal's late callback cannot bring
    /// a new grant to an account being revoked. The old grant serves until Cronofy confirms.
    @Test(arguments: StorageDriver.allCases) func aRevocationCancelsThePendingRenewal(driver: StorageDriver) async throws {
        let (harness, _) = try await setUp(driver, ["jane@example.com"])
        let old = try await harness.core.token(email: "jane@example.com", minValidity: .seconds(60)).value()
        harness.simulator.control.dropCallbacks(email: "jane@example.com")
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "jane@example.com", scope: "read_events", renew: true)])
        let renewal = try #require(await harness.simulator.control.waitForCallbacks(count: 2).last)
        #expect(try await harness.core.account(email: "jane@example.com").renewal?.status == "pending")
        harness.simulator.control.fail(.revoke, with: .invalidClient, times: 2)
        await #expect(throws: CoreError.self) { try await harness.core.revokeAccount(email: "jane@example.com") }
        let kept = try await harness.core.account(email: "jane@example.com")
        #expect(kept.status == .active && kept.revocation == "pending" && kept.renewal == nil)
        #expect(try await harness.core.token(email: "jane@example.com", minValidity: .seconds(60)).value().accessToken == old.accessToken)
        #expect(try await harness.allEvents().last { $0.type == .accountRenewalFailed }?.data["error"] == .string("revoked"))
        // The renewal's callback comes late: no request waits for it any more.
        let exchanges = harness.simulator.control.calls(.token).count
        do {
            try await harness.core.receiveDelegatedCallback(requestID: String(renewal.callbackURL.split(separator: "/").last!),
                                                            body: Array(renewal.body.utf8), signatureHeader: nil)
            Issue.record("the cancelled renewal's callback was accepted")
        } catch let CoreError.callbackRejected(rejection) {
            #expect(callbackStatus(rejection) == 404)
        }
        // Cronofy accepts again: the background retry revokes the old grant; nothing was exchanged.
        let revoked = try await harness.waitForStatus("jane@example.com", .revoked)
        #expect(revoked.revocation == nil && revoked.renewal == nil)
        #expect(try await storedSecrets(harness, email: "jane@example.com") == 0)
        #expect(harness.simulator.control.calls(.token).count == exchanges)
        #expect(!(try await harness.allEvents().suffix(3).contains { $0.type == .accountAuthorized }))
        await harness.stop()
    }

    /// A refresh racing a revocation. Cronofy has rotated the refresh token, but the refresh's
    /// answer is still on its way when the revocation sends the old one, which a spent token makes
    /// a no-op (the simulator follows RFC 7009 §2.2 there). The revocation is confirmed here; the
    /// refresh's late tokens are not kept, and the refresher revokes the rotated refresh token it
    /// holds, the only thing keeping the grant alive. Without that the grant outlived the revocation.
    @Test(arguments: StorageDriver.allCases) func aRefreshAnsweredAfterTheRevocationRevokesItsNewToken(driver: StorageDriver) async throws {
        let (harness, _) = try await setUp(driver, ["jane@example.com"])
        let core = harness.core
        let issued = harness.simulator.control.issued().refreshTokens.count
        harness.simulator.control.fail(.token, with: .slow(.milliseconds(800)))
        async let refreshing: Result<AccessToken, any Error> = { do { return .success(try await core.refresh(email: "jane@example.com")) }
            catch { return .failure(error) } }()
        // Rotated at Cronofy, the answer not back yet.
        #expect(await eventually { harness.simulator.control.issued().refreshTokens.count > issued })
        #expect(try await core.revokeAccount(email: "jane@example.com").status == .revoked)
        guard case .failure(CoreError.accountNotActive(status: .revoked)) = await refreshing else {
            Issue.record("the refresh answered after the revocation was kept"); return
        }
        #expect(try await storedSecrets(harness, email: "jane@example.com") == 0)
        #expect(!harness.simulator.control.revokeAuthorization(email: "jane@example.com"), "the grant is still alive at Cronofy")
        await harness.stop()
    }

    /// The other order: the refresh stores its rotated refresh token after the revocation read the
    /// old one and before Cronofy's answer to the revocation is back. The revocation finds a refresh
    /// token it did not send and revokes that one too before confirming.
    @Test(arguments: StorageDriver.allCases) func aRefreshStoredDuringTheRevocationIsRevokedToo(driver: StorageDriver) async throws {
        let (harness, _) = try await setUp(driver, ["jane@example.com"])
        let core = harness.core
        let issued = harness.simulator.control.issued().refreshTokens.count
        harness.simulator.control.fail(.token, with: .slow(.milliseconds(500)))
        harness.simulator.control.fail(.revoke, with: .slow(.milliseconds(1500)))
        async let refreshing: Result<AccessToken, any Error> = { do { return .success(try await core.refresh(email: "jane@example.com")) }
            catch { return .failure(error) } }()
        #expect(await eventually { harness.simulator.control.issued().refreshTokens.count > issued })
        let revoked = try await core.revokeAccount(email: "jane@example.com")
        #expect(revoked.status == .revoked)
        _ = await refreshing   // stored before the revocation confirmed: it succeeded
        let revokes = harness.simulator.control.calls(.revoke)
        #expect(revokes.count == 2, "\(revokes.map(\.body))")
        #expect(try await storedSecrets(harness, email: "jane@example.com") == 0)
        #expect(!harness.simulator.control.revokeAuthorization(email: "jane@example.com"), "the grant is still alive at Cronofy")
        await harness.stop()
    }
}
