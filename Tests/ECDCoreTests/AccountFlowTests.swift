import ECDCore
import ECDSimulator
import ECDTestSupport
import Foundation
import Testing

@Suite("Delegated access: requests, callbacks, tokens", .serialized)
struct AccountFlowTests {
    @Test(arguments: StorageDriver.allCases) func requestAuthorizeAndReadTokens(driver: StorageDriver) async throws {
        var simulator = SimulatorConfiguration()
        simulator.refusedEmails = ["room@example.com"]
        let harness = try Harness(driver: driver, simulator: simulator)
        let serviceAccount = try await harness.connectServiceAccount()
        harness.core.start()
        let requested = try await harness.core.requestAccounts([
            AccountRequestEntry(email: "Jane@Example.com"),
            AccountRequestEntry(email: "bob@example.com", scope: "read_events", serviceAccountID: serviceAccount.id),
            AccountRequestEntry(email: "room@example.com"),
        ])
        let allowed: Set<AccountStatus> = [.pending, .active, .failed]
        #expect(requested.allSatisfy { allowed.contains($0.status) })
        #expect(requested.map(\.email) == ["Jane@example.com", "bob@example.com", "room@example.com"])
        #expect(requested.allSatisfy { $0.serviceAccountID == serviceAccount.id })
        let jane = try await harness.waitForStatus("jane@example.com", .active)
        #expect(jane.accountID?.hasPrefix("acc_") == true)
        #expect(jane.sub == jane.accountID)
        #expect(jane.profile?.providerName != nil)
        #expect(jane.authorizedAt != nil && jane.tokenExpiresAt != nil)
        #expect(jane.scope == harness.configuration.defaultAccountScope)
        let bob = try await harness.waitForStatus("BOB@example.com", .active)
        #expect(bob.scope == "read_events")
        let room = try await harness.waitForStatus("room@example.com", .failed)
        #expect(room.error?.error == "unable_to_grant_scope" || room.error?.errorKey == "unable_to_grant_scope")

        // The exchange used the exact callback URL as redirect_uri.
        let exchanges = harness.simulator.control.calls(.token).filter { $0.body.contains("authorization_code") }
        #expect(exchanges.count == 3)   // the service account and two accounts
        #expect(harness.simulator.control.callbacks().allSatisfy { $0.callbackURL.hasPrefix(harness.baseURL.absoluteString + "/callbacks/delegated/") })

        // A fresh token straight from the cache, case-insensitively. The worker caches it once its
        // commit (which made the account visibly active) has returned: a moment later, not before.
        // A `.pending` answer runs nothing until awaited, so polling does not fill the cache itself.
        _ = await eventually(timeout: .seconds(10)) {
            if case .ready = harness.core.token(email: "JANE@example.com", minValidity: .seconds(60)) { return true }
            return false
        }
        guard case .ready(let token) = harness.core.token(email: "JANE@example.com", minValidity: .seconds(60)) else {
            Issue.record("an authorized account's token was not cached")
            return
        }
        #expect(token.tokenType == "bearer")
        #expect(token.accountID == jane.accountID)
        #expect(token.apiURL == harness.simulator.baseURL.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")))
        #expect(token.expiresIn() > 1700)
        #expect(harness.simulator.control.issued().accessTokens.contains(token.accessToken))

        // Errors of the token route.
        await #expect(throws: CoreError.notFound("no account nobody@example.com")) {
            try await harness.core.token(email: "nobody@example.com", minValidity: .seconds(60)).value()
        }
        await #expect(throws: CoreError.accountNotActive(status: .failed)) {
            try await harness.core.token(email: "room@example.com", minValidity: .seconds(60)).value()
        }

        // Listing, paging and filters.
        let firstPage = try await harness.core.accounts(status: nil, serviceAccountID: nil, limit: 2, after: nil)
        #expect(firstPage.accounts.map(\.email) == ["bob@example.com", "Jane@example.com"])
        #expect(firstPage.next == "jane@example.com")
        let secondPage = try await harness.core.accounts(status: nil, serviceAccountID: nil, limit: 2, after: firstPage.next)
        #expect(secondPage.accounts.map(\.email) == ["room@example.com"])
        #expect(secondPage.next == nil)
        #expect(try await harness.core.accounts(status: .failed, serviceAccountID: nil, limit: 10, after: nil).accounts.count == 1)
        #expect(try await harness.core.accounts(status: nil, serviceAccountID: "ser_none", limit: 10, after: nil).accounts.isEmpty)

        let types = try await harness.allEvents().map(\.type)
        #expect(types.filter { $0 == .accountRequested }.count == 3)
        #expect(types.filter { $0 == .accountAuthorized }.count == 2)
        #expect(types.filter { $0 == .accountFailed }.count == 1)
        let page = try await harness.core.events(after: 2, limit: 2)
        #expect(page.events.map(\.id) == [3, 4])
        #expect(page.nextAfter == 4)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func validationNamesTheEntry(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        let serviceAccount = try await harness.connectServiceAccount(delegatedScope: "read_events read_free_busy")
        func failure(_ entries: [AccountRequestEntry]) async -> CoreError? {
            do { _ = try await harness.core.requestAccounts(entries); return nil } catch { return error as? CoreError }
        }
        /// The one refused entry's field and message.
        func problem(_ entries: [AccountRequestEntry]) async -> (field: String, message: String)? {
            guard case .invalidEntries(let problems)? = await failure(entries), problems.count == 1 else { return nil }
            return (problems[0].field, problems[0].message)
        }
        let ok = AccountRequestEntry(email: "a@example.com", scope: "read_events")
        #expect(await problem([ok, AccountRequestEntry(email: "not-an-email")])?.field == "accounts[1].email")
        #expect(await problem([ok, AccountRequestEntry(email: "A@example.com", scope: "read_events")])?.field == "accounts[1].email")
        let excess = await problem([ok, AccountRequestEntry(email: "b@example.com", scope: "read_events create_event")])
        #expect(excess?.field == "accounts[1].scope")
        #expect(excess?.message.contains("create_event") == true)
        // The default scope is wider than this service account's delegated scope.
        #expect(await problem([AccountRequestEntry(email: "c@example.com")])?.field == "accounts[0].scope")
        #expect(await problem([AccountRequestEntry(email: "c@example.com", scope: "read_events", serviceAccountID: "ser_unknown")])?.field
                == "accounts[0].service_account_id")
        #expect(await failure([]) != nil)
        #expect(await failure(Array(repeating: ok, count: 1001)) != nil)
        // Nothing of the refused requests was stored or sent.
        #expect(try await harness.core.accounts(status: nil, serviceAccountID: nil, limit: 10, after: nil).accounts.isEmpty)
        #expect(harness.simulator.control.calls(.authorizations).isEmpty)
        // Two service accounts: the email's domain picks one; no match needs an explicit id.
        harness.simulator.control.setNextServiceAccount(ServiceAccountIdentity(email: "sa@other.org", domain: "other.org", provider: "office365"))
        let other = try await harness.connectServiceAccount(delegatedScope: "read_events")
        let picked = try await harness.core.requestAccounts([AccountRequestEntry(email: "x@other.org", scope: "read_events"),
                                                             AccountRequestEntry(email: "y@example.com", scope: "read_events")])
        #expect(picked.map(\.serviceAccountID) == [other.id, serviceAccount.id])
        #expect(await problem([AccountRequestEntry(email: "z@third.net", scope: "read_events")])?.field == "accounts[0].service_account_id")
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func everyRefusedEntryIsReportedAtOnce(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        _ = try await harness.connectServiceAccount(delegatedScope: "read_events")
        var entries = (0..<300).map { AccountRequestEntry(email: "u\($0)@example.com", scope: "read_events") }
        entries[3].email = "not-an-email"
        entries[7].scope = "read_events create_event"
        entries[9].email = "U1@example.com"
        entries[12].serviceAccountID = "ser_unknown"
        do {
            _ = try await harness.core.requestAccounts(entries, rejected: [EntryProblem(index: 5, field: "accounts[5].email", message: "x")])
            Issue.record("accepted")
        } catch CoreError.invalidEntries(let problems) {
            #expect(problems.map(\.index) == [3, 5, 7, 9, 12])
            #expect(problems.map(\.field) == ["accounts[3].email", "accounts[5].email", "accounts[7].scope", "accounts[9].email",
                                               "accounts[12].service_account_id"])
            #expect(problems[3].message == "duplicate of accounts[1].email")
        }
        // Past the limit: the first 100, in order.
        let bad = (0..<300).map { AccountRequestEntry(email: "bad\($0)", scope: "read_events") }
        do {
            _ = try await harness.core.requestAccounts(bad)
            Issue.record("accepted")
        } catch CoreError.invalidEntries(let problems) {
            #expect(problems.count == EntryProblem.limit)
            #expect(problems.map(\.index) == Array(0..<EntryProblem.limit))
        }
        #expect(try await harness.core.accounts(status: nil, serviceAccountID: nil, limit: 10, after: nil).accounts.isEmpty)
        await harness.stop()
    }

    /// Each request clears the account's old inbox rows; a full scan of the inbox there made a
    /// bulk request slow down with every callback ever kept (docs/benchmarks.md "Bulk requests").
    /// SQLite only: SQLite's query plan (PostgreSQL has the same index: the schema parity tests).
    @Test func clearingAnAccountsInboxRowsUsesAnIndex() async throws {
        let harness = try Harness()
        let plan = try await harness.database.asyncRead { connection in
            try connection.query("EXPLAIN QUERY PLAN DELETE FROM callback_inbox WHERE account_row = ?", [Int64(1)])
                .map { (try? $0.get("detail") as String) ?? "" }
        }
        // "USING INDEX" or, with the secret-count triggers (which make SQLite collect the rows
        // first), "USING COVERING INDEX": either way not a scan.
        #expect(plan.contains { $0.contains("INDEX callback_inbox_by_account") }, "\(plan)")
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func batchesOfFiftyAndReRequest(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        let entries = (0..<120).map { AccountRequestEntry(email: "user\($0)@example.com", scope: "read_events") }
        _ = try await harness.core.requestAccounts(entries)
        // Sent in the background, after the answer.
        #expect(await eventually { harness.simulator.control.calls(.authorizations).count == 3 })
        let batches = harness.simulator.control.calls(.authorizations)
        #expect(batches.allSatisfy { $0.status == 202 })
        #expect(try await eventually(timeout: .seconds(20)) {
            try await harness.core.accounts(status: .active, serviceAccountID: nil, limit: 1000, after: nil).accounts.count == 120
        })
        // Asking again for the same grant changes nothing; with `renew` it is asked for again with a
        // new callback URL while the account stays active.
        let before = harness.simulator.control.callbacks().filter { $0.email.lowercased() == "user7@example.com" }.map(\.callbackURL)
        let same = try await harness.core.requestAccounts([AccountRequestEntry(email: "USER7@example.com", scope: "read_events")])
        #expect(same.first?.status == .active && same.first?.renewal == nil)
        let again = try await harness.core.requestAccounts([AccountRequestEntry(email: "USER7@example.com", scope: "read_events", renew: true)])
        #expect(again.first?.status == .active && again.first?.renewal?.status == "pending")
        _ = await eventually { harness.simulator.control.callbacks().filter { $0.email.lowercased() == "user7@example.com" }.count == 2 }
        let after = harness.simulator.control.callbacks().filter { $0.email.lowercased() == "user7@example.com" }.map(\.callbackURL)
        #expect(after.count == 2 && !before.contains(after[1]))
        #expect(try await harness.waitForStatus("user7@example.com", .active).status == .active)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func cronofyRefusingTheRequestFailsTheEntries(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        _ = try await harness.connectServiceAccount()
        // A service-account token the simulator no longer accepts: 401 → refresh → retry once.
        harness.simulator.control.expireAccessTokens()
        let accounts = try await harness.core.requestAccounts([AccountRequestEntry(email: "a@example.com")])
        #expect(accounts.first?.status == .pending)
        #expect(await eventually { harness.simulator.control.calls(.authorizations).count == 2 })
        let calls = harness.simulator.control.calls(.authorizations)
        #expect(calls.map(\.status) == [401, 202])
        // Cronofy down for longer than the client retries: the request stays pending and the sweep sends it later.
        harness.simulator.control.fail(.authorizations, with: .serverError, times: 2)
        let pending = try await harness.core.requestAccounts([AccountRequestEntry(email: "b@example.com")])
        #expect(pending.first?.status == .pending)
        harness.core.start()
        #expect(try await harness.waitForStatus("b@example.com", .active, timeout: .seconds(15)).status == .active)
        await harness.stop()
    }
}
