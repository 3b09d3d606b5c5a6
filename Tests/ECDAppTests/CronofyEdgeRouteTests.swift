import ECDSimulator
import Foundation
import Testing
@testable import ECDApp

/// Issue 11 at the API: `409 account_reauthorizing` with `Retry-After`, `502 cronofy_revoke_failed`
/// and `DELETE …?local_only=true`, over real sockets against the simulator.
@Suite struct CronofyEdgeRouteTests {
    @Test func reauthorizingAndRefusedRevocationAtTheAPI() async throws {
        try await TestDaemon.run { daemon in
            _ = try await daemon.connectServiceAccount()
            #expect(try await daemon.api("POST", "/v1/accounts", json: #"{"email":"alice@example.com"}"#).status == 202)
            #expect(try await daemon.settle(["alice@example.com"]) == ["alice@example.com": "active"])
            let old = try #require(try await daemon.api("GET", "/v1/accounts/alice@example.com/token").json["access_token"] as? String)

            // Cronofy refuses the refresh token; the re-request's callback is held back.
            let control = daemon.simulator.control
            control.dropCallbacks(email: "alice@example.com")
            #expect(control.revokeRefreshToken(try #require(control.issued().refreshTokens.last)))
            let refused = try await daemon.api("POST", "/v1/accounts/alice@example.com/refresh")
            #expect(refused.status == 409)
            #expect(refused.errorCode == "account_reauthorizing")
            #expect(refused.json["status"] as? String == "reauthorizing")
            #expect(refused.header("Retry-After") == "10")
            #expect(try await daemon.api("GET", "/v1/accounts/alice@example.com").json["status"] as? String == "reauthorizing")
            let served = try await daemon.api("GET", "/v1/accounts/alice@example.com/token?min_validity=60")
            #expect(served.status == 200 && served.json["access_token"] as? String == old)
            let tooShort = try await daemon.api("GET", "/v1/accounts/alice@example.com/token?min_validity=3600")
            #expect(tooShort.status == 409 && tooShort.errorCode == "account_reauthorizing")
            let events = try #require(try await daemon.api("GET", "/v1/events").json["events"] as? [[String: Any]])
            #expect(events.contains { $0["type"] as? String == "account.reauthorizing" })

            // A revocation Cronofy refuses is a 502 with its answer; local_only gives up on it.
            control.fail(.revoke, with: .invalidClient, times: 4)
            let revokeFailed = try await daemon.api("DELETE", "/v1/accounts/alice@example.com")
            #expect(revokeFailed.status == 502)
            #expect(revokeFailed.errorCode == "cronofy_revoke_failed")
            #expect(((revokeFailed.json["error"] as? [String: Any])?["message"] as? String)?.contains("invalid_client") == true)
            #expect(try await daemon.api("DELETE", "/v1/accounts/alice@example.com?local_only=maybe").status == 422)
            let erased = try await daemon.api("DELETE", "/v1/accounts/alice@example.com?local_only=true")
            #expect(erased.status == 200)
            #expect(erased.json["status"] as? String == "revoked" && erased.json["revocation"] as? String == "local_only")
            control.clearFaults()
        }
    }
}
