import ECDCore
import ECDCrypto
import ECDSimulator
import ECDSQLite
import ECDSync
import Foundation
import Testing

@Suite("Callback inbox: signatures, forgeries, duplicates, timeouts, throughput", .serialized)
struct CallbackTests {
    /// A connected service account and `emails` requested with their callbacks held back by the
    /// simulator, so the test can deliver (or tamper with) them itself.
    func heldCallbacks(_ harness: Harness, _ emails: [String]) async throws -> [SimulatorCallback] {
        _ = try await harness.connectServiceAccount()
        for email in emails { harness.simulator.control.dropCallbacks(email: email) }
        _ = try await harness.core.requestAccounts(emails.map { AccountRequestEntry(email: $0, scope: "read_events") })
        let callbacks = await harness.simulator.control.waitForCallbacks(count: emails.count)
        return emails.compactMap { email in callbacks.first { $0.email == email } }
    }

    func requestID(_ callback: SimulatorCallback) -> String { String(callback.callbackURL.split(separator: "/").last!) }

    func rejection(_ body: () async throws -> Void) async -> (Int, String)? {
        do { try await body(); return nil } catch let CoreError.callbackRejected(rejection) { return (callbackStatus(rejection), rejection.code) } catch { return (-1, "\(error)") }
    }

    @Test(arguments: StorageDriver.allCases) func forgedAndMalformedCallbacksChangeNothing(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver) { $0.requireCallbackSignature = false }
        let callback = try #require(try await heldCallbacks(harness, ["a@example.com"]).first)
        let id = requestID(callback)
        let body = Array(callback.body.utf8)
        let core = harness.core
        let secret = harness.configuration.clientSecret
        // Bad signature → 401; the right one among several comma-separated values is fine.
        #expect(await rejection { try await core.receiveDelegatedCallback(requestID: id, body: body, signatureHeader: "bm9wZQ==") }?.0 == 401)
        // Wrong state → 400, unknown request → 404, malformed → 400, neither code nor error → 400.
        let forged = Array(#"{"authorization":{"code":"forged-code","state":"guessed"}}"#.utf8)
        #expect(await rejection { try await core.receiveDelegatedCallback(requestID: id, body: forged, signatureHeader: nil) }?.0 == 400)
        #expect(await rejection { try await core.receiveDelegatedCallback(requestID: "unknownrequest", body: body, signatureHeader: nil) }?.0 == 404)
        #expect(await rejection { try await core.receiveDelegatedCallback(requestID: "../etc", body: body, signatureHeader: nil) }?.0 == 404)
        #expect(await rejection { try await core.receiveDelegatedCallback(requestID: id, body: Array("{not json".utf8), signatureHeader: nil) }?.0 == 400)
        #expect(await rejection { try await core.receiveDelegatedCallback(requestID: id, body: Array(#"{"authorization":{"state":"x"}}"#.utf8), signatureHeader: nil) }?.0 == 400)
        #expect(try await harness.core.account(email: "a@example.com").status == .pending)
        // The genuine callback still succeeds afterwards, signed with one of two values.
        let header = "bm9wZQ==, " + CallbackSignature.expected(body: body, secret: secret)
        try await core.receiveDelegatedCallback(requestID: id, body: body, signatureHeader: header)
        core.start()
        #expect(try await harness.waitForStatus("a@example.com", .active).status == .active)
        // The same callback again: accepted, no second exchange.
        try await core.receiveDelegatedCallback(requestID: id, body: body, signatureHeader: nil)
        try await Task.sleep(for: .milliseconds(300))
        let exchanges = harness.simulator.control.calls(.token).filter { $0.body.contains(callback.code ?? "?") }
        #expect(exchanges.count == 1)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func requiredSignatures(driver: StorageDriver) async throws {
        var simulator = SimulatorConfiguration()
        simulator.signCallbacks = true
        let harness = try Harness(driver: driver, simulator: simulator) { $0.requireCallbackSignature = true }
        let callback = try #require(try await heldCallbacks(harness, ["s@example.com"]).first)
        let body = Array(callback.body.utf8)
        #expect(callback.signature != nil)
        #expect(await rejection { try await harness.core.receiveDelegatedCallback(requestID: requestID(callback), body: body, signatureHeader: nil) }?.0 == 401)
        try await harness.core.receiveDelegatedCallback(requestID: requestID(callback), body: body, signatureHeader: callback.signature)
        // And the simulator's own signed deliveries go through end to end.
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "t@example.com", scope: "read_events")])
        #expect(try await harness.waitForStatus("t@example.com", .active).status == .active)
        #expect(try await harness.waitForStatus("s@example.com", .active).status == .active)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func supersededRequestIsUnknown(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        let callback = try #require(try await heldCallbacks(harness, ["r@example.com"]).first)
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "r@example.com", scope: "read_events")])
        #expect(await rejection { try await harness.core.receiveDelegatedCallback(requestID: requestID(callback), body: Array(callback.body.utf8), signatureHeader: nil) }?.0 == 404)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func callbackTimeoutFailsTheRequestAndALateCallbackStillCounts(driver: StorageDriver) async throws {
        // One attempt in all: the lost-callback re-request is CronofyEdgeTests' subject.
        let harness = try Harness(driver: driver) {
            $0.callbackTimeout = .milliseconds(300)
            $0.callbackAttempts = 1
        }
        let callback = try #require(try await heldCallbacks(harness, ["late@example.com"]).first)
        harness.core.start()
        let failed = try await harness.waitForStatus("late@example.com", .failed)
        #expect(failed.error?.error == "callback_timeout")
        #expect(try await harness.allEvents().contains { $0.type == .accountFailed && $0.data["error"] == "callback_timeout" })
        try await harness.core.receiveDelegatedCallback(requestID: requestID(callback), body: Array(callback.body.utf8), signatureHeader: nil)
        #expect(try await harness.waitForStatus("late@example.com", .active).status == .active)
        await harness.stop()
    }

    /// An error callback without the state counts only when it is signed.
    @Test(arguments: StorageDriver.allCases) func anErrorCallbackWithoutStateNeedsASignature(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver)
        let callback = try #require(try await heldCallbacks(harness, ["sig@example.com"]).first)
        let id = requestID(callback)
        let error = Array(#"{"authorization":{"error":"unable_to_grant_scope","error_key":"unable_to_grant_scope"}}"#.utf8)
        let unsigned = await rejection { try await harness.core.receiveDelegatedCallback(requestID: id, body: error, signatureHeader: nil) }
        #expect(unsigned?.0 == 400 && unsigned?.1 == "state_required")
        let signature = CallbackSignature.expected(body: error, secret: harness.configuration.clientSecret)
        try await harness.core.receiveDelegatedCallback(requestID: id, body: error, signatureHeader: signature)
        harness.core.start()
        #expect(try await harness.waitForStatus("sig@example.com", .failed).error?.error == "unable_to_grant_scope")
        await harness.stop()
    }

    /// An error callback (with the state) and then the code share a request: two inbox rows, the
    /// same associated data. Rewrap must re-seal the code's row only, and the code still wins.
    @Test(arguments: StorageDriver.allCases) func inboxRowsOfOneRequestAreRewrappedOneByOne(driver: StorageDriver) async throws {
        let oldKey = Keyring.Key(id: "k1", bytes: try SecureRandom.bytes(32))
        let newKey = Keyring.Key(id: "k2", bytes: try SecureRandom.bytes(32))
        let harness = try Harness(driver: driver, keyring: try Keyring(keys: [oldKey]))
        let callback = try #require(try await heldCallbacks(harness, ["two@example.com"]).first)
        let id = requestID(callback)
        let state = try #require(callback.state)
        let error = Array(#"{"authorization":{"error":"access_denied","state":"\#(state)"}}"#.utf8)
        try await harness.core.receiveDelegatedCallback(requestID: id, body: error, signatureHeader: nil)
        try await harness.core.receiveDelegatedCallback(requestID: id, body: Array(callback.body.utf8), signatureHeader: nil)
        await harness.close()

        try harness.open(keyring: try Keyring(keys: [newKey, oldKey]))
        #expect(try await harness.core.rewrap().rewrapped["callback_inbox"] == 1)
        let kinds = try await harness.rows("SELECT kind, CASE WHEN code IS NULL THEN 0 ELSE 1 END AS has_code FROM callback_inbox ORDER BY id")
            .map { "\($0["kind"]?.text ?? "?"):\($0["has_code"]?.int ?? -1)" }
        #expect(kinds == ["error:0", "code:1"])
        await harness.close()

        try harness.open(keyring: try Keyring(keys: [newKey]))
        harness.core.start()
        #expect(try await harness.waitForStatus("two@example.com", .active).status == .active)
        await harness.stop()
    }

    /// Group commit: many concurrent callbacks share transactions, each durable before it returns.
    /// SQLite only: the test holds SQLite's one writer (`DatabaseHold`) to make the groups.
    /// The test holds the database while they arrive, so the outcome does not depend on timing:
    /// no callback may return before its commit, and those queued behind the held database must
    /// go in together (the first batch, already waiting for the database, plus the rest).
    @Test func concurrentCallbacksAreCommittedInGroups() async throws {
        let harness = try Harness()
        let emails = (0..<400).map { "burst\($0)@example.com" }
        let callbacks = try await heldCallbacks(harness, emails)
        #expect(callbacks.count == 400)
        let core = harness.core
        let hold = DatabaseHold(harness.database)
        #expect(await hold.engaged())
        let progress = BurstProgress()
        let burst = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for callback in callbacks {
                    let id = String(callback.callbackURL.split(separator: "/").last!)
                    let body = Array(callback.body.utf8)
                    group.addTask {
                        progress.count { $0.submitted += 1 }
                        try await core.receiveDelegatedCallback(requestID: id, body: body, signatureHeader: nil)
                        progress.count { $0.returned += 1 }
                    }
                }
                try await group.waitForAll()
            }
        }
        // Every callback has started and had time to queue; none may have returned uncommitted.
        let deadline = ContinuousClock.now + .seconds(30)
        while progress.count({ $0.submitted }) < callbacks.count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        // A task runs straight from its first line to the intake's queue (no suspension point
        // before it), so this only covers the last few, preempted between the two.
        try await Task.sleep(for: .milliseconds(500))
        #expect(progress.count { $0.returned } == 0)
        hold.release()
        try await burst.value
        #expect(progress.count { $0.returned } == callbacks.count)
        // One `received_at` per transaction (each batch stamps its rows with one time).
        let (inbox, transactions) = try await harness.database.asyncRead { connection -> (Int64?, Int64?) in
            let row = try connection.queryOne("SELECT COUNT(*) AS n, COUNT(DISTINCT received_at) AS t FROM callback_inbox")
            return (row?.optional("n"), row?.optional("t"))
        }
        #expect(inbox == 400)
        #expect((transactions ?? 400) <= 3)
        await harness.stop()
    }
}

/// How many of a burst's callbacks have been submitted, and how many have returned.
final class BurstProgress: Sendable {
    private let counts = Locked((submitted: 0, returned: 0))
    func count<T>(_ body: (inout (submitted: Int, returned: Int)) -> T) -> T { counts.withLock { body(&$0) } }
}

/// Holds the database's queue with an open write transaction, on a thread of its own (never the
/// cooperative pool), until released; bounded so that a failing test cannot hang the run.
final class DatabaseHold: Sendable {
    private let state = Locked((engaged: false, released: false))

    init(_ database: Database) {
        Thread { [self] in
            try? database.write { _ in
                state.withLock { $0.engaged = true }
                let limit = ContinuousClock.now + .seconds(60)
                while !state.withLock({ $0.released }), ContinuousClock.now < limit { usleep(1000) }
            }
        }.start()
    }

    /// True once the hold has the database (polled, bounded).
    func engaged() async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while !state.withLock({ $0.engaged }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return state.withLock { $0.engaged }
    }

    func release() { state.withLock { $0.released = true } }
}

extension Duration {
    var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
