import ECDSimulator
import Foundation
import Testing
@testable import ECDApp

/// `/v1/accounts…` and `/v1/events` over real sockets, against the simulator.
@Suite struct AccountRouteTests {
    @Test func requestAccountsThenTheWholeLifecycle() async throws {
        try await TestDaemon.run(simulator: { $0.refusedEmails = ["room@example.com"] }) { daemon in
            let serviceAccountID = try await daemon.connectServiceAccount()

            let requested = try await daemon.api("POST", "/v1/accounts",
                                                 json: #"{"accounts":[{"email":"alice@example.com"},{"email":"Bob@Example.com"},{"email":"room@example.com"}]}"#)
            #expect(requested.status == 202)
            let pending = try #require(requested.json["accounts"] as? [[String: Any]])
            #expect(pending.count == 3)
            #expect(pending.allSatisfy { $0["status"] as? String == "pending" })
            #expect(pending.allSatisfy { $0["service_account_id"] as? String == serviceAccountID })

            let statuses = try await daemon.settle(["alice@example.com", "bob@example.com", "room@example.com"])
            #expect(statuses == ["alice@example.com": "active", "bob@example.com": "active", "room@example.com": "failed"])

            // {email} raw, percent-encoded, any case.
            for path in ["/v1/accounts/alice@example.com", "/v1/accounts/alice%40example.com", "/v1/accounts/ALICE@Example.COM"] {
                let account = try await daemon.api("GET", path)
                #expect(account.status == 200, "\(path)")
                #expect((account.json["email"] as? String)?.lowercased() == "alice@example.com")
            }
            let refused = try await daemon.api("GET", "/v1/accounts/room@example.com")
            #expect((refused.json["error"] as? [String: Any])?["error_key"] as? String == "unable_to_grant_scope")
            #expect(try await daemon.api("GET", "/v1/accounts/nobody@example.com").status == 404)

            // Token: default and explicit min_validity; never the refresh token.
            let token = try await daemon.api("GET", "/v1/accounts/alice@example.com/token")
            #expect(token.status == 200)
            #expect(token.json["token_type"] as? String == "bearer")
            #expect((token.json["expires_in"] as? Int ?? 0) > 60)
            #expect(token.json["refresh_token"] == nil)
            #expect(token.json["api_url"] as? String == daemon.simulator.baseURL.absoluteString
                    || (token.json["api_url"] as? String)?.hasPrefix(daemon.simulator.baseURL.absoluteString) == true)
            #expect(token.header("Cache-Control") == "no-store")
            let first = try #require(token.json["access_token"] as? String)
            #expect(try await daemon.api("GET", "/v1/accounts/alice%40example.com/token?min_validity=120").json["access_token"] as? String == first)

            // Refresh now.
            let refreshed = try await daemon.api("POST", "/v1/accounts/alice@example.com/refresh")
            #expect(refreshed.status == 200)
            let second = try #require(refreshed.json["access_token"] as? String)
            #expect(second != first)
            #expect(try await daemon.api("GET", "/v1/accounts/alice@example.com/token").json["access_token"] as? String == second)

            // Not active: 409 with the status beside the error.
            let notActive = try await daemon.api("GET", "/v1/accounts/room@example.com/token")
            #expect(notActive.status == 409)
            #expect(notActive.errorCode == "account_not_active")
            #expect(notActive.json["status"] as? String == "failed")
            #expect(try await daemon.api("GET", "/v1/accounts/nobody@example.com/token").status == 404)
            #expect(try await daemon.api("POST", "/v1/accounts/nobody@example.com/refresh").status == 404)
            let refreshFailed = try await daemon.api("POST", "/v1/accounts/room@example.com/refresh")
            #expect(refreshFailed.status == 409)
            #expect(refreshFailed.json["status"] as? String == "failed")

            // Revoke.
            let revoked = try await daemon.api("DELETE", "/v1/accounts/bob%40example.com")
            #expect(revoked.status == 200)
            #expect(revoked.json["status"] as? String == "revoked")
            let afterRevoke = try await daemon.api("GET", "/v1/accounts/bob@example.com/token")
            #expect(afterRevoke.status == 409)
            #expect(afterRevoke.json["status"] as? String == "revoked")
            #expect(try await daemon.api("DELETE", "/v1/accounts/nobody@example.com").status == 404)

            // Asking again re-requests a revoked account.
            let again = try await daemon.api("POST", "/v1/accounts", json: #"{"email":"bob@example.com"}"#)
            #expect(again.status == 202)
            #expect((again.json["accounts"] as? [[String: Any]])?.first?["status"] as? String == "pending")
            #expect(try await daemon.settle(["bob@example.com"])["bob@example.com"] == "active")

            // Events, in pages.
            let all = try await daemon.api("GET", "/v1/events?limit=1000")
            let events = try #require(all.json["events"] as? [[String: Any]])
            let types = events.compactMap { $0["type"] as? String }
            for expected in ["service_account.connected", "account.requested", "account.authorized", "account.failed", "account.revoked"] {
                #expect(types.contains(expected), "\(expected)")
            }
            let firstPage = try await daemon.api("GET", "/v1/events?limit=2")
            #expect((firstPage.json["events"] as? [Any])?.count == 2)
            let cursor = try #require(firstPage.json["next_after"] as? Int)
            let secondPage = try await daemon.api("GET", "/v1/events?after=\(cursor)&limit=2")
            let secondIDs = (secondPage.json["events"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
            #expect(secondIDs.allSatisfy { $0 > cursor })
            #expect(!secondIDs.isEmpty)

            // No token, code or key in any log line, once the three /v1/events calls above are logged.
            await daemon.logs.waitFor(3) { $0.metadata["route"] == "/v1/events" }
            let secrets = daemon.simulator.control.issued().all + [TestDaemon.apiKey, TestDaemon.secondAPIKey]
            for entry in daemon.logs.entries {
                for secret in secrets where entry.flattened.contains(secret) {
                    Issue.record("a secret appears in the log line \"\(entry.message)\"")
                }
            }
            let tokenLine = daemon.logs.entries.last { $0.metadata["route"] == "/v1/accounts/{email}/token" }
            #expect(tokenLine?.metadata["status"] != nil)
        }
    }

    @Test func listingFiltersAndPages() async throws {
        try await TestDaemon.run(simulator: { $0.refusedEmails = ["c@example.com"] }) { daemon in
            let serviceAccountID = try await daemon.connectServiceAccount()
            try await daemon.requestAndSettle(["d@example.com", "a@example.com", "c@example.com", "b@example.com"])

            let all = try await daemon.api("GET", "/v1/accounts")
            #expect((all.json["accounts"] as? [[String: Any]])?.compactMap { $0["email"] as? String }
                    == ["a@example.com", "b@example.com", "c@example.com", "d@example.com"])
            #expect(all.json["next"] is NSNull)

            let page1 = try await daemon.api("GET", "/v1/accounts?limit=3")
            #expect((page1.json["accounts"] as? [Any])?.count == 3)
            let next = try #require(page1.json["next"] as? String)
            let page2 = try await daemon.api("GET", "/v1/accounts?limit=3&after=\(next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? next)")
            #expect((page2.json["accounts"] as? [[String: Any]])?.compactMap { $0["email"] as? String } == ["d@example.com"])

            let failed = try await daemon.api("GET", "/v1/accounts?status=failed")
            #expect((failed.json["accounts"] as? [[String: Any]])?.compactMap { $0["email"] as? String } == ["c@example.com"])
            let bySA = try await daemon.api("GET", "/v1/accounts?service_account_id=\(serviceAccountID)&status=active")
            #expect((bySA.json["accounts"] as? [Any])?.count == 3)
            let none = try await daemon.api("GET", "/v1/accounts?service_account_id=ser_unknown")
            #expect((none.json["accounts"] as? [Any])?.count == 0)

            for (query, field) in [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"), ("status=sleepy", "status"),
                                   ("colour=red", "colour")] {
                let response = try await daemon.api("GET", "/v1/accounts?\(query)")
                #expect(response.status == 422, "\(query)")
                #expect(response.errorField == field, "\(query)")
            }
            for query in ["min_validity=3601", "min_validity=-1", "min_validity=soon"] {
                let response = try await daemon.api("GET", "/v1/accounts/a@example.com/token?\(query)")
                #expect(response.status == 422, "\(query)")
                #expect(response.errorField == "min_validity")
            }
            for query in ["after=x", "limit=0", "limit=1001"] {
                #expect(try await daemon.api("GET", "/v1/events?\(query)").status == 422, "\(query)")
            }
        }
    }

    @Test func badRequestBodies() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()

            let notJSON = try await daemon.api("POST", "/v1/accounts", json: "email=a@b.com")
            #expect(notJSON.status == 400)
            #expect(notJSON.errorCode == "invalid_json")

            let wrongType = try await daemon.api("POST", "/v1/accounts", json: #"{"email":["a@example.com"]}"#)
            #expect(wrongType.status == 422)
            #expect(wrongType.errorCode == "invalid_field")
            #expect(wrongType.errorField == "email")

            let invalidEmail = try await daemon.api("POST", "/v1/accounts", json: #"{"accounts":[{"email":"a@example.com"},{"email":"not an email"}]}"#)
            #expect(invalidEmail.status == 422)
            #expect(invalidEmail.errorField == "accounts[1].email")
            #expect((invalidEmail.json["error"] as? [String: Any])?["message"] as? String != nil)

            let unknownServiceAccount = try await daemon.api("POST", "/v1/accounts", json: #"{"email":"a@example.com","service_account_id":"ser_nope"}"#)
            #expect(unknownServiceAccount.status == 422)
            #expect(unknownServiceAccount.errorField == "service_account_id")

            let unknownInBatch = try await daemon.api("POST", "/v1/accounts",
                                                      json: #"{"accounts":[{"email":"a@example.com"},{"email":"b@example.com","service_account_id":"ser_nope"}]}"#)
            #expect(unknownInBatch.status == 422)
            #expect(unknownInBatch.errorField?.hasPrefix("accounts[1]") == true)

            let tooWide = try await daemon.api("POST", "/v1/accounts", json: #"{"email":"a@example.com","scope":"read_account change_participation_status"}"#)
            #expect(tooWide.status == 422)
            #expect(tooWide.errorField == "scope")

            let tooMany = "{\"accounts\":[" + (0...1000).map { "{\"email\":\"u\($0)@example.com\"}" }.joined(separator: ",") + "]}"
            let many = try await daemon.api("POST", "/v1/accounts", json: tooMany)
            #expect(many.status == 422)
            #expect(many.errorField == "accounts")

            // Over 1 MiB: refused by the server before any handler runs.
            let huge = "{\"label\":\"" + String(repeating: "x", count: (1 << 20) + 10) + "\"}"
            let tooLarge = try await daemon.api("POST", "/v1/service-accounts/connect-links", json: huge)
            #expect(tooLarge.status == 413)
            let hugeAccounts = "{\"email\":\"a@example.com\",\"scope\":\"" + String(repeating: "x", count: 1 << 20) + "\"}"
            #expect(try await daemon.api("POST", "/v1/accounts", json: hugeAccounts).status == 413)

            // Nothing was created by any of these.
            let listed = try await daemon.api("GET", "/v1/accounts")
            #expect((listed.json["accounts"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func noServiceAccountToChooseFrom() async throws {
        try await TestDaemon.run { daemon in
            let response = try await daemon.api("POST", "/v1/accounts", json: #"{"email":"a@example.com"}"#)
            #expect(response.status == 422)
            #expect(response.errorCode == "invalid_field")
        }
    }

    @Test func expiredTokenWithCronofyDownIsUnavailable() async throws {
        try await TestDaemon.run(simulator: { $0.tokenLifetime = .seconds(2) }) { daemon in
            try await daemon.connectServiceAccount()
            #expect(try await daemon.requestAndSettle(["e@example.com"])["e@example.com"] == "active")
            try await Task.sleep(for: .milliseconds(2300))
            daemon.simulator.control.fail(.token, with: .serverError, times: 100)
            let response = try await daemon.api("GET", "/v1/accounts/e@example.com/token")
            #expect(response.status == 503)
            #expect(response.errorCode == "cronofy_unavailable")
        }
    }
}
