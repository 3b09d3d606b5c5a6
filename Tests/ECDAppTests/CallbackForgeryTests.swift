import ECDCore
import ECDSimulator
import Foundation
import Testing
@testable import ECDApp

/// Issue 10 items 1 and 2, over real sockets: whoever knows a callback URL must not decide a
/// request, and unauthenticated requests to the public listener write nothing.
@Suite struct CallbackForgeryTests {
    static let json = [("Content-Type", "application/json")]

    /// A connected service account and `email` requested, its callback held back by the simulator:
    /// the genuine callback, its path on the public listener and the state it carries.
    func heldCallback(_ daemon: TestDaemon, _ email: String) async throws -> (SimulatorCallback, String, String) {
        try await daemon.connectServiceAccount()
        daemon.simulator.control.dropCallbacks(email: email)
        let requested = try await daemon.api("POST", "/v1/accounts", json: "{\"email\":\"\(email)\"}")
        #expect(requested.status == 202)
        let held = await daemon.simulator.control.waitForCallbacks(count: 1, timeout: .seconds(5))
        let genuine = try #require(held.first { $0.email == email })
        let path = try #require(URL(string: genuine.callbackURL)?.path)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(genuine.body.utf8)) as? [String: Any])
        let state = try #require((body["authorization"] as? [String: Any])?["state"] as? String)
        return (genuine, path, state)
    }

    func events(_ daemon: TestDaemon) async throws -> [[String: Any]] {
        try await daemon.api("GET", "/v1/events?limit=1000").json["events"] as? [[String: Any]] ?? []
    }

    @Test func aForgedErrorCallbackIsRefusedAndTheGenuineCodeStillAuthorizes() async throws {
        try await TestDaemon.run { daemon in
            let (genuine, path, _) = try await heldCallback(daemon, "dora@example.com")
            // Someone who learnt the callback URL (a proxy log) but not the state posts an error.
            let forged = try await daemon.publicRequest(
                "POST", path, headers: Self.json,
                body: Array(#"{"authorization":{"error":"access_denied","error_description":"attacker text"}}"#.utf8))
            #expect(forged.status == 400)
            #expect(forged.errorCode == "state_required")
            // Nothing was decided or recorded.
            #expect(try await daemon.api("GET", "/v1/accounts/dora@example.com").json["status"] as? String == "pending")
            #expect(!(try await events(daemon)).contains { $0["type"] as? String == "account.failed" })

            let accepted = try await daemon.publicRequest("POST", path, headers: Self.json, body: Array(genuine.body.utf8))
            #expect(accepted.status == 200)
            #expect(try await daemon.settle(["dora@example.com"])["dora@example.com"] == "active")
        }
    }

    @Test func aCodeAfterAnAcceptedErrorIsStillExchangedAndErrorTextIsBoundedData() async throws {
        try await TestDaemon.run { daemon in
            let (genuine, path, state) = try await heldCallback(daemon, "erin@example.com")
            // An error callback that proves itself with the state counts: the request fails, with
            // its text kept as bounded data (control characters gone, 200 characters and a marker).
            let long = "<script>alert(1)</script>\u{1B}[31m\n" + String(repeating: "x", count: 1000)
            let errorBody = try JSONSerialization.data(withJSONObject: [
                "authorization": ["error": "access_denied", "error_description": long, "state": state]])
            let refused = try await daemon.publicRequest("POST", path, headers: Self.json, body: Array(errorBody))
            #expect(refused.status == 200)
            #expect(try await daemon.settle(["erin@example.com"])["erin@example.com"] == "failed")
            let failed = try #require(try await events(daemon).last { $0["type"] as? String == "account.failed" })
            let description = try #require((failed["data"] as? [String: Any])?["error_description"] as? String)
            #expect(description.count == 200 + "…[truncated]".count)
            #expect(description.hasPrefix("<script>alert(1)</script> [31m x"))
            #expect(description.hasSuffix("x…[truncated]"))
            // The same error again is a duplicate: acknowledged, nothing new recorded.
            let again = try await daemon.publicRequest("POST", path, headers: Self.json, body: Array(errorBody))
            #expect(again.status == 200)

            // Then the code (Cronofy changed its mind, or the error was someone replaying a state
            // they saw): its exchange is attempted, not dropped as a duplicate of the error.
            for _ in 0..<2 {
                let accepted = try await daemon.publicRequest("POST", path, headers: Self.json, body: Array(genuine.body.utf8))
                #expect(accepted.status == 200)
            }
            let deadline = ContinuousClock.now + .seconds(10)
            var status: String?
            while ContinuousClock.now < deadline {
                status = try await daemon.api("GET", "/v1/accounts/erin@example.com").json["status"] as? String
                if status == "active" { break }
                try await Task.sleep(for: .milliseconds(30))
            }
            #expect(status == "active")
            // One exchange for the code sent twice; one failure event for the error sent twice.
            let exchanges = daemon.simulator.control.calls(.token).filter { $0.body.contains(genuine.code ?? "?") }
            #expect(exchanges.count == 1)
            let failures = try await events(daemon).filter { $0["type"] as? String == "account.failed" && $0["email"] as? String == "erin@example.com" }
            #expect(failures.count == 1)
        }
    }

    /// The reviewer's probe: many `GET /oauth/callback` with no state or a made-up one. Each is a
    /// 400 page and a count in the metric; none is an event (or a webhook delivery).
    @Test func badOAuthCallbacksWriteNoEventsAndAreCounted() async throws {
        try await TestDaemon.run { daemon in
            let before = try await rejectedCounts(daemon)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<200 {
                    let target = index % 2 == 0 ? "/oauth/callback?code=c\(index)" : "/oauth/callback?code=c\(index)&state=made-up-\(index)"
                    group.addTask { try await daemon.publicRequest("GET", target).status }
                    if index % 16 == 15 { for try await status in group { #expect(status == 400) } }
                }
                for try await status in group { #expect(status == 400) }
            }
            let after = try await rejectedCounts(daemon)
            #expect(after["missing_state", default: 0] - before["missing_state", default: 0] == 100)
            #expect(after["unknown_state", default: 0] - before["unknown_state", default: 0] == 100)
            #expect(try await events(daemon).isEmpty)
        }
    }

    /// `ecd_oauth_callbacks_rejected_total` by reason, from `GET /metrics`.
    func rejectedCounts(_ daemon: TestDaemon) async throws -> [String: Int] {
        let text = try await daemon.api("GET", "/metrics").text
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("ecd_oauth_callbacks_rejected_total{") {
            guard let open = line.range(of: "reason=\""), let close = line[open.upperBound...].firstIndex(of: "\""),
                  let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            counts[String(line[open.upperBound..<close])] = Int(value)
        }
        return counts
    }
}
