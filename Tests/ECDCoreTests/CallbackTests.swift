import ECDCore
import ECDCrypto
import ECDSimulator
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
        do { try await body(); return nil } catch let CoreError.callbackRejected(status, code, _) { return (status, code) } catch { return (-1, "\(error)") }
    }

    @Test func forgedAndMalformedCallbacksChangeNothing() async throws {
        let harness = try Harness { $0.requireCallbackSignature = false }
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
        #expect(try harness.core.account(email: "a@example.com").status == .pending)
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

    @Test func requiredSignatures() async throws {
        var simulator = SimulatorConfiguration()
        simulator.signCallbacks = true
        let harness = try Harness(simulator: simulator) { $0.requireCallbackSignature = true }
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

    @Test func supersededRequestIsUnknown() async throws {
        let harness = try Harness()
        let callback = try #require(try await heldCallbacks(harness, ["r@example.com"]).first)
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: "r@example.com", scope: "read_events")])
        #expect(await rejection { try await harness.core.receiveDelegatedCallback(requestID: requestID(callback), body: Array(callback.body.utf8), signatureHeader: nil) }?.0 == 404)
        await harness.stop()
    }

    @Test func callbackTimeoutFailsTheRequestAndALateCallbackStillCounts() async throws {
        let harness = try Harness { $0.callbackTimeout = .milliseconds(300) }
        let callback = try #require(try await heldCallbacks(harness, ["late@example.com"]).first)
        harness.core.start()
        let failed = try await harness.waitForStatus("late@example.com", .failed)
        #expect(failed.error?.error == "callback_timeout")
        #expect(try harness.allEvents().contains { $0.type == .accountFailed && $0.data["error"] == "callback_timeout" })
        try await harness.core.receiveDelegatedCallback(requestID: requestID(callback), body: Array(callback.body.utf8), signatureHeader: nil)
        #expect(try await harness.waitForStatus("late@example.com", .active).status == .active)
        await harness.stop()
    }

    /// Group commit: many concurrent callbacks share transactions, each durable before it returns.
    @Test func concurrentCallbacksAreCommittedInGroups() async throws {
        let harness = try Harness()
        let emails = (0..<400).map { "burst\($0)@example.com" }
        let callbacks = try await heldCallbacks(harness, emails)
        #expect(callbacks.count == 400)
        let core = harness.core
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for callback in callbacks {
                let id = requestID(callback)
                let body = Array(callback.body.utf8)
                group.addTask { try await core.receiveDelegatedCallback(requestID: id, body: body, signatureHeader: nil) }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        let perSecond = Double(callbacks.count) / elapsed.timeInterval
        print("callback intake: \(callbacks.count) in \(elapsed) = \(Int(perSecond))/s")
        #expect(perSecond > 1000)
        let inbox = try harness.database.read { try $0.queryOne("SELECT COUNT(*) AS n FROM callback_inbox")?.optional("n") as Int64? }
        #expect(inbox == 400)
        await harness.stop()
    }
}

extension Duration {
    var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
