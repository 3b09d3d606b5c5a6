import ECDSimulator
import Foundation
import Testing
@testable import ECDApp

/// `POST /v1/accounts` with many entries over real sockets: the answer comes before Cronofy is
/// called, every refused entry is named in one 422.
@Suite struct BulkRequestRouteTests {
    @Test func thousandAccountsAnswerPendingThenAllSettleActive() async throws {
        // Each account's code exchange is a call to Cronofy too: at the default 400 a minute,
        // 1,000 accounts take two and a half minutes to settle.
        try await TestDaemon.run(configure: { $0.refresh.cronofyRequestsPerMinute = 30_000 }) { daemon in
            try await daemon.connectServiceAccount()
            // Cronofy holds its answer to the first batch for 8 s: a route that sent before
            // answering would answer after all 20 batches (each recorded once answered).
            daemon.simulator.control.inject(SimulatorFaultRule(endpoint: .authorizations, fault: .slow(.seconds(8)), count: 1))
            let emails = (0..<1000).map { "bulk\($0)@example.com" }
            let body = "{\"accounts\":[" + emails.map { "{\"email\":\"\($0)\"}" }.joined(separator: ",") + "]}"
            let started = ContinuousClock.now
            let requested = try await daemon.api("POST", "/v1/accounts", json: body)
            let sentWhenAnswered = daemon.simulator.control.calls(.authorizations).count
            #expect(requested.status == 202)
            #expect(sentWhenAnswered < 20, "the answer waited for Cronofy (\(sentWhenAnswered) batches sent, \(started.duration(to: .now)))")
            let accounts = try #require(requested.json["accounts"] as? [[String: Any]])
            #expect(accounts.count == 1000)
            #expect(accounts.allSatisfy { $0["status"] as? String == "pending" })
            #expect(accounts.map { $0["email"] as? String } == emails)

            // Then every one is sent (20 calls of 50) and ends active.
            let deadline = ContinuousClock.now + .seconds(90)
            var active = 0
            while ContinuousClock.now < deadline {
                let page = try await daemon.api("GET", "/v1/accounts?status=active&limit=1000")
                active = (page.json["accounts"] as? [Any])?.count ?? 0
                if active == 1000 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(active == 1000)
            #expect(daemon.simulator.control.calls(.authorizations).count == 20)
        }
    }

    @Test func oneUnprocessableAnswerListsEveryBadEntry() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()
            var entries = (0..<10).map { "{\"email\":\"ok\($0)@example.com\"}" }
            entries[2] = #"{"email":"not an email"}"#                              // the route's check
            entries[4] = #"{"email":"ok4@example.com","colour":"red"}"#              // the route's check
            entries[6] = #"{"email":"OK1@example.com"}"#                             // the core's: duplicate
            entries[8] = #"{"email":"ok8@example.com","service_account_id":"ser_nope"}"#  // the core's
            let response = try await daemon.api("POST", "/v1/accounts", json: "{\"accounts\":[" + entries.joined(separator: ",") + "]}")
            #expect(response.status == 422)
            #expect(response.errorCode == "invalid_field")
            #expect(response.errorField == "accounts[2].email")
            let errors = try #require(response.json["errors"] as? [[String: Any]])
            #expect(errors.map { $0["index"] as? Int } == [2, 4, 6, 8])
            #expect(errors.map { $0["field"] as? String }
                    == ["accounts[2].email", "accounts[4].colour", "accounts[6].email", "accounts[8].service_account_id"])
            #expect(errors.allSatisfy { ($0["message"] as? String)?.isEmpty == false })

            // 150 bad entries: the first 100 are listed.
            let bad = (0..<150).map { "{\"email\":\"bad\($0)\"}" }
            let many = try await daemon.api("POST", "/v1/accounts", json: "{\"accounts\":[" + bad.joined(separator: ",") + "]}")
            #expect(many.status == 422)
            #expect((many.json["errors"] as? [Any])?.count == 100)

            // Nothing was stored or sent.
            #expect((try await daemon.api("GET", "/v1/accounts").json["accounts"] as? [Any])?.isEmpty == true)
            #expect(daemon.simulator.control.calls(.authorizations).isEmpty)
        }
    }
}
