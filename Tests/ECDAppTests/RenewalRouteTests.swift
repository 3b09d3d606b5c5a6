import ECDSimulator
import Foundation
import Testing
@testable import ECDApp

/// Issue 12, item 2 at the API: a re-request of an active account (`"renew": true`) keeps the
/// account active and its token route answering 200 until the new grant replaces the token.
@Suite struct RenewalRouteTests {
    @Test func renewingKeepsTheTokenRouteAnswering() async throws {
        try await TestDaemon.run(simulator: { $0.callbackDelay = .milliseconds(1200) }) { daemon in
            _ = try await daemon.connectServiceAccount()
            #expect(try await daemon.api("POST", "/v1/accounts", json: #"{"email":"alice@example.com"}"#).status == 202)
            #expect(try await daemon.settle(["alice@example.com"]) == ["alice@example.com": "active"])
            let account = try await daemon.api("GET", "/v1/accounts/alice@example.com")
            #expect(account.json.keys.contains("renewal") && account.json["renewal"] is NSNull)
            let old = try #require(try await daemon.api("GET", "/v1/accounts/alice@example.com/token").json["access_token"] as? String)

            // The same grant again changes nothing.
            let same = try await daemon.api("POST", "/v1/accounts", json: #"{"email":"alice@example.com"}"#)
            let sameAccount = try #require((same.json["accounts"] as? [[String: Any]])?.first)
            #expect(same.status == 202 && sameAccount["status"] as? String == "active" && sameAccount["renewal"] is NSNull)

            let renew = try await daemon.api("POST", "/v1/accounts", json: #"{"accounts":[{"email":"alice@example.com","renew":true}]}"#)
            #expect(renew.status == 202)
            let renewing = try #require((renew.json["accounts"] as? [[String: Any]])?.first)
            let renewal = try #require(renewing["renewal"] as? [String: Any])
            #expect(renewing["status"] as? String == "active")
            #expect(renewal["status"] as? String == "pending" && renewal["requested_at"] is String)

            // Until the callback's grant replaces it, the token route serves the old token.
            var served = 0
            while true {
                let token = try await daemon.api("GET", "/v1/accounts/alice@example.com/token?min_validity=60")
                #expect(token.status == 200)
                let value = token.json["access_token"] as? String
                if value != old { break }
                served += 1
                try await Task.sleep(for: .milliseconds(50))
                if served > 400 { Issue.record("the renewal never completed"); break }
            }
            #expect(served > 0)
            let renewed = try await daemon.api("GET", "/v1/accounts/alice@example.com")
            #expect(renewed.json["status"] as? String == "active" && renewed.json["renewal"] is NSNull)

            let bad = try await daemon.api("POST", "/v1/accounts", json: #"{"email":"alice@example.com","renew":"yes"}"#)
            #expect(bad.status == 422 && bad.json["field"] as? String == "renew")
        }
    }

    /// A revocation Cronofy has not confirmed is retried in the background: a renewal or a
    /// re-request of that account would race it, so it is a 409 `account_revoking` that writes
    /// nothing (not even the other entries of the batch), until the revocation ends.
    @Test func aPendingRevocationBlocksARenewal() async throws {
        try await TestDaemon.run { daemon in
            let control = daemon.simulator.control
            _ = try await daemon.connectServiceAccount()
            #expect(try await daemon.api("POST", "/v1/accounts", json: #"{"email":"alice@example.com"}"#).status == 202)
            #expect(try await daemon.settle(["alice@example.com"]) == ["alice@example.com": "active"])
            // invalid_client: unconfirmed, and (unlike a 5xx) no retries or budget penalty that would slow the rest.
            control.fail(.revoke, with: .invalidClient, times: 1000)
            #expect(try await daemon.api("DELETE", "/v1/accounts/alice@example.com").status == 502)
            // Requests written show as account.requested events (the background retry of the
            // revocation adds account.revoke_failed ones meanwhile).
            func requested() async throws -> Int {
                try #require(try await daemon.api("GET", "/v1/events?limit=1000").json["events"] as? [[String: Any]])
                    .filter { $0["type"] as? String == "account.requested" }.count
            }
            let events = try await requested()

            for body in [#"{"email":"alice@example.com","renew":true}"#, #"{"email":"alice@example.com"}"#,
                         #"{"accounts":[{"email":"bob@example.com"},{"email":"ALICE@example.com","renew":true}]}"#] {
                let refused = try await daemon.api("POST", "/v1/accounts", json: body)
                #expect(refused.status == 409 && refused.errorCode == "account_revoking")
                let message = (refused.json["error"] as? [String: Any])?["message"] as? String
                #expect(message?.contains("alice@example.com") == true && message?.contains("local_only") == true)
            }
            #expect(try await daemon.api("GET", "/v1/accounts/bob@example.com").status == 404)
            let alice = try await daemon.api("GET", "/v1/accounts/alice@example.com").json
            #expect(alice["status"] as? String == "active" && alice["renewal"] is NSNull && alice["revocation"] as? String == "pending")
            #expect(try await requested() == events)

            // Once the operator gives up on the revocation, the account may be asked for again.
            #expect(try await daemon.api("DELETE", "/v1/accounts/alice@example.com?local_only=true").status == 200)
            control.clearFaults()
            let again = try await daemon.api("POST", "/v1/accounts", json: #"{"email":"alice@example.com","renew":true}"#)
            #expect(again.status == 202)
            #expect(try await daemon.settle(["alice@example.com"], timeout: .seconds(30)) == ["alice@example.com": "active"])
        }
    }
}
