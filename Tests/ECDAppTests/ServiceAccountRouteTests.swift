import Foundation
import Testing
@testable import ECDApp

/// `/v1/service-accounts…` over real sockets.
@Suite struct ServiceAccountRouteTests {
    @Test func connectLinks() async throws {
        try await TestDaemon.run { daemon in
            let empty = try await daemon.api("POST", "/v1/service-accounts/connect-links")
            #expect(empty.status == 201)
            let url = try #require(empty.json["url"] as? String)
            #expect(url.hasPrefix("http://127.0.0.1:\(daemon.publicPort)/connect/"))
            let expires = try #require((empty.json["expires_at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
            #expect(abs(expires.timeIntervalSinceNow - 1800) < 60)

            let labelled = try await daemon.api("POST", "/v1/service-accounts/connect-links",
                                                json: #"{"label":"Acme","scope":"service_account/accounts/manage","delegated_scope":"read_account"}"#)
            #expect(labelled.status == 201)
            #expect(labelled.json["url"] as? String != url)

            #expect(try await daemon.api("POST", "/v1/service-accounts/connect-links", json: "{label}").status == 400)
            let wrongType = try await daemon.api("POST", "/v1/service-accounts/connect-links", json: #"{"label":1}"#)
            #expect(wrongType.status == 422)
            #expect(wrongType.errorField == "label")
        }
    }

    @Test func showTokenResourcesAndRevoke() async throws {
        try await TestDaemon.run { daemon in
            let id = try await daemon.connectServiceAccount()
            try await daemon.requestAndSettle(["f@example.com", "g@example.com"])

            let shown = try await daemon.api("GET", "/v1/service-accounts/\(id)")
            #expect(shown.status == 200)
            for key in ["id", "email", "domain", "provider", "label", "status", "scope", "delegated_scope", "connected_at", "updated_at"] {
                #expect(shown.json.keys.contains(key), "\(key)")
            }
            #expect(shown.json["domain"] as? String == "example.com")
            #expect(try await daemon.api("GET", "/v1/service-accounts/ser_unknown").status == 404)

            let token = try await daemon.api("GET", "/v1/service-accounts/\(id)/token")
            #expect(token.status == 200)
            #expect((token.json["access_token"] as? String)?.isEmpty == false)
            #expect(token.json["refresh_token"] == nil)
            #expect(try await daemon.api("GET", "/v1/service-accounts/ser_unknown/token").status == 404)

            let resources = try await daemon.api("GET", "/v1/service-accounts/\(id)/resources")
            #expect(resources.status == 200)
            let list = try #require(resources.json["resources"] as? [[String: Any]])
            #expect(!list.isEmpty)
            #expect(list.allSatisfy { $0["email"] is String && $0["name"] is String })

            let revoked = try await daemon.api("DELETE", "/v1/service-accounts/\(id)")
            #expect(revoked.status == 200)
            #expect(revoked.json["status"] as? String == "revoked")
            for email in ["f@example.com", "g@example.com"] {
                #expect(try await daemon.api("GET", "/v1/accounts/\(email)").json["status"] as? String == "revoked")
            }
            #expect(try await daemon.api("DELETE", "/v1/service-accounts/ser_unknown").status == 404)
            let revokedToken = try await daemon.api("GET", "/v1/service-accounts/\(id)/token")
            #expect(revokedToken.status == 409)
            #expect(revokedToken.json["status"] as? String == "revoked")
            let types = (try await daemon.api("GET", "/v1/events?limit=1000").json["events"] as? [[String: Any]] ?? [])
                .compactMap { $0["type"] as? String }
            #expect(types.contains("service_account.revoked"))
        }
    }
}
