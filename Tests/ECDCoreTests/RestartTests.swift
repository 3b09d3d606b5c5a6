import ECDCore
import ECDCrypto
import ECDSimulator
import ECDSQLite
import ECDTestSupport
import Foundation
import Testing

@Suite("Restarts in the middle of each flow, key rotation, secrets at rest", .serialized)
struct RestartTests {
    /// SQLite only: it closes the SQLite database under the facade (PostgreSQL's health has its own
    /// test in StorageHealthTests).
    @Test func readinessReportsAnUnwritableDatabase() async throws {
        let harness = try Harness()
        #expect(await harness.core.readiness().isEmpty)
        harness.database.close()
        let problems = await harness.core.readiness()
        #expect(problems.count == 1 && problems[0].hasPrefix("the database is not writable"))
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func connectSurvivesARestartBetweenRedirectAndCallback(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        let (code, state, cookie) = try await harness.authorizeAtSimulator()
        await harness.close()
        try harness.open()
        let account = try await harness.core.completeConnect(code: code, state: state, error: nil, cookieState: cookie)
        #expect(account.status == .active)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func unsentRequestIsSentAfterRestart(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        _ = try await harness.connectServiceAccount()
        harness.simulator.control.fail(.authorizations, with: .serverError, times: 2)
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "u@example.com", scope: "read_events")])
        await harness.close()
        // Due now rather than after the first send's claim expires.
        try await harness.executeWhileClosed("UPDATE accounts SET next_attempt_at = 0")
        try harness.open().start()
        #expect(try await harness.waitForStatus("u@example.com", .active).status == .active)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func acceptedCallbacksAreFinishedAfterRestart(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        _ = try await harness.connectServiceAccount()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "r@example.com", scope: "read_events")])
        let callbacks = await harness.simulator.control.waitForCallbacks(count: 1)
        #expect(callbacks.first?.delivered == true)
        #expect(try await harness.core.account(email: "r@example.com").status == .pending)
        await harness.close()   // the inbox worker never ran
        try harness.open().start()
        #expect(try await harness.waitForStatus("r@example.com", .active).status == .active)
        await harness.stop()
    }

    /// The daemon died after Cronofy accepted the code and before the tokens were stored: the
    /// retry gets invalid_grant, and the account is re-requested by itself and ends active.
    @Test(arguments: StorageDriver.allCases) func spentCodeIsRecoveredByANewRequest(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        _ = try await harness.connectServiceAccount()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "spent@example.com", scope: "read_events")])
        let callback = try #require(await harness.simulator.control.waitForCallbacks(count: 1).first)
        #expect(callback.delivered)
        await harness.close()
        // What the dead process did: marked the row, and Cronofy spent the code.
        try await harness.executeWhileClosed("UPDATE callback_inbox SET status = 'exchanging', attempts = 1")
        _ = try await harness.cronofy.exchangeCode(try #require(callback.code), redirectURI: callback.callbackURL, sendCallbackURL: true)
        try harness.open().start()
        let account = try await harness.waitForStatus("spent@example.com", .active)
        #expect(account.status == .active)
        let requested = try await harness.allEvents().filter { $0.type == .accountRequested }
        #expect(requested.map { $0.data["reason"] } == [nil, "recovery"])
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func staleLeaseOfADeadProcessExpires(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver) { $0.refreshLeaseDuration = .milliseconds(500) }
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "l@example.com", scope: "read_events")])
        _ = try await harness.waitForStatus("l@example.com", .active)
        let old = try await harness.core.token(email: "l@example.com", minValidity: .seconds(60)).value()
        await harness.close()
        // A process died holding the lease: nobody may refresh before it runs out, and then
        // this process must take over and really refresh (not hand back the old token).
        let leaseUntil = Date().addingTimeInterval(0.5)
        try await harness.executeWhileClosed("UPDATE accounts SET lease_owner = 'dead-process', lease_until = ?", [leaseUntil])
        let refreshes = harness.simulator.control.calls(.token).filter { $0.body.contains("refresh_token") }.count
        try harness.open()
        let token = try await harness.core.refresh(email: "l@example.com")
        #expect(Date() >= leaseUntil)
        #expect(token.accessToken != old.accessToken)
        #expect(harness.simulator.control.calls(.token).filter { $0.body.contains("refresh_token") }.count == refreshes + 1)
        let stored = try await harness.core.token(email: "l@example.com", minValidity: .seconds(60)).value()
        #expect(stored.accessToken == token.accessToken)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func keyRotationAndRewrap(driver: StorageDriver) async throws {
        let oldKey = Keyring.Key(id: "k1", bytes: try SecureRandom.bytes(32))
        let newKey = Keyring.Key(id: "k2", bytes: try SecureRandom.bytes(32))
        let harness = try Harness(driver: driver, keyring: try Keyring(keys: [oldKey]))
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "k@example.com", scope: "read_events")])
        _ = try await harness.waitForStatus("k@example.com", .active)
        let before = try await harness.core.token(email: "k@example.com", minValidity: .seconds(60)).value()
        await harness.close()

        // New primary key, old one still in the ring: old rows open, new writes use k2.
        try harness.open(keyring: try Keyring(keys: [newKey, oldKey]))
        #expect(try await harness.core.token(email: "k@example.com", minValidity: .seconds(60)).value().accessToken == before.accessToken)
        let report = try await harness.core.rewrap()
        #expect(report.rewrapped["accounts"] == 2)
        #expect(report.rewrapped["service_accounts"] == 2)
        #expect(report.rewrappedFromKeyIDs == ["k1": 4])
        #expect(report.secretsByKeyID == ["k2": 4])
        #expect(try await harness.core.rewrap().total == 0)
        await harness.close()

        // Only the new key: everything still opens, and refreshing works.
        try harness.open(keyring: try Keyring(keys: [newKey]))
        #expect(try await harness.core.token(email: "k@example.com", minValidity: .seconds(60)).value().accessToken == before.accessToken)
        _ = try await harness.core.refresh(email: "k@example.com")
        await harness.close()

        // Only the old key: nothing opens any more.
        try harness.open(keyring: try Keyring(keys: [oldKey]))
        await #expect(throws: (any Error).self) { try await harness.core.token(email: "k@example.com", minValidity: .seconds(60)).value() }
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func ciphertextCannotMoveToAnotherRow(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "x@example.com", scope: "read_events"),
                                                    AccountRequestEntry(email: "y@example.com", scope: "read_events")])
        _ = try await harness.waitForStatus("x@example.com", .active)
        _ = try await harness.waitForStatus("y@example.com", .active)
        await harness.close()
        try await harness.executeWhileClosed(
            "UPDATE accounts SET access_token = (SELECT access_token FROM accounts WHERE email_key = 'x@example.com') WHERE email_key = 'y@example.com'")
        try harness.open()
        await #expect(throws: CryptoError.self) { try await harness.core.token(email: "y@example.com", minValidity: .seconds(60)).value() }
        await harness.stop()
    }

    /// No token, code or state the simulator issued appears in the database file, its WAL, the
    /// logs or the events; nor does the client secret. (PostgreSQL: in any row of any table, read
    /// back as text, or in the server's log; `Harness.storedBytes`.)
    @Test(arguments: StorageDriver.allCases) func noSecretAtRestOrInLogs(driver: StorageDriver) async throws {
        var simulator = SimulatorConfiguration()
        simulator.refusedEmails = ["room@example.com"]
        simulator.signCallbacks = true
        let harness = try Harness(driver: driver, simulator: simulator)
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts(["a@example.com", "b@example.com", "room@example.com"].map {
            AccountRequestEntry(email: $0, scope: "read_events")
        })
        _ = try await harness.waitForStatus("a@example.com", .active)
        _ = try await harness.waitForStatus("b@example.com", .active)
        _ = try await harness.waitForStatus("room@example.com", .failed)
        _ = try await harness.core.token(email: "a@example.com", minValidity: .seconds(60)).value()
        _ = try await harness.core.refresh(email: "a@example.com")
        _ = try await harness.core.revokeAccount(email: "b@example.com")
        _ = try await harness.core.serviceAccountToken(id: try await harness.core.serviceAccounts()[0].id, minValidity: .seconds(7200))
        let events = String(decoding: try JSONEncoder.ecd().encode(try await harness.allEvents()), as: UTF8.self)
        let stored = try await harness.storedBytes()
        await harness.close()
        let storedAfterClose = try await harness.storedBytes()
        let issued = harness.simulator.control.issued()
        let states = harness.simulator.control.callbacks().compactMap(\.state)
        let secrets = issued.all + states + [harness.configuration.clientSecret]
        #expect(issued.accessTokens.count >= 4 && issued.refreshTokens.count >= 3 && issued.codes.count >= 3)
        let logs = harness.logs.text
        #expect(!logs.isEmpty)
        // What is stored in clear is found: the search below could see a secret stored so.
        #expect(stored.contains(bytes: Array("a@example.com".utf8)) && storedAfterClose.contains(bytes: Array("a@example.com".utf8)))
        for secret in secrets {
            #expect(!stored.contains(bytes: Array(secret.utf8)), "a secret is in the database or its WAL")
            #expect(!storedAfterClose.contains(bytes: Array(secret.utf8)), "a secret is in the database file")
            #expect(!logs.contains(secret), "a secret is in the logs")
            #expect(!events.contains(secret), "a secret is in an event")
        }
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func webhookDeliversEveryEventInOrderSigned(driver: StorageDriver) async throws {
        let secret = Array("webhook-secret-0123456789abcdef0123".utf8)
        let older = Array("webhook-secret-older-0123456789abcdef".utf8)
        let harness = try Harness(driver: driver) {
            $0.webhookURL = $0.publicBaseURL.appendingPathComponent("webhook")
            $0.webhookSecrets = [secret, older]
        }
        harness.webhookFailuresLeft.withLock { $0 = 2 }
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "w@example.com", scope: "read_events")])
        _ = try await harness.waitForStatus("w@example.com", .active)
        #expect(await eventually { harness.webhooks.withLock { $0.count } >= 3 })
        let deliveries = harness.webhooks.withLock { $0 }
        let ids = try deliveries.map { try JSONDecoder.ecd().decode(Event.self, from: Data($0.body)).id }
        #expect(ids == Array(1...Int64(ids.count)))
        let now = Int64(Date().timeIntervalSince1970)
        for delivery in deliveries {
            let header = try #require(delivery.signature)
            // A receiver holding either secret of the rotation accepts it; one holding neither does not.
            #expect(WebhookSignature.verify(header: header, body: delivery.body, secrets: [secret], now: now))
            #expect(WebhookSignature.verify(header: header, body: delivery.body, secrets: [older], now: now))
            #expect(!WebhookSignature.verify(header: header, body: delivery.body, secrets: [Array("another-secret-0123456789abcdef01".utf8)], now: now))
            #expect(header.split(separator: ",").filter { $0.hasPrefix("v1=") }.count == 2)
            // Replayed ten minutes later, the same delivery is refused: its timestamp is signed.
            #expect(!WebhookSignature.verify(header: header, body: delivery.body, secrets: [secret], now: now + 600))
            #expect(!WebhookSignature.verify(header: header, body: delivery.body + [0x20], secrets: [secret], now: now))
        }
        // The cursor is persisted: a restart does not deliver them again.
        await harness.close()
        try harness.open().start()
        try await Task.sleep(for: .milliseconds(800))
        #expect(harness.webhooks.withLock { $0.count } == deliveries.count)
        await harness.stop()
    }
}
