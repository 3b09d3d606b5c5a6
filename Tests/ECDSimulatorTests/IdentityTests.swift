import ECDHTTP
import Foundation
import Testing

@testable import ECDSimulator

@Suite("GET /v1/userinfo and /v1/resources")
struct IdentityTests {
    @Test func serviceAccountUserinfoHasTheNestedShape() async throws {
        let sim = SimulatorHarness { $0.serviceAccountProvider = "exchange"; $0.serviceAccountDomain = "example.org"
            $0.serviceAccountEmail = "exchange-service-account@example.org" }
        let tokens = try await sim.connectServiceAccount()
        let response = await sim.get("/v1/userinfo", bearer: tokens["access_token"] as? String)
        #expect(response.status.code == 200)
        let info = try json(response)
        #expect(info["sub"] as? String == tokens["service_account_id"] as? String)
        #expect(info["cronofy.type"] as? String == "service_account")
        #expect(info["email"] as? String == "exchange-service-account@example.org")
        let data = try #require(info["cronofy.data"] as? [String: Any])
        let account = try #require(data["service_account"] as? [String: String])
        #expect(account == ["provider_name": "exchange", "domain": "example.org"])
        let authorization = try #require(data["authorization"] as? [String: String])
        #expect(authorization == [
            "scope": SimulatorHarness.serviceScope, "status": "active", "delegated_scope": SimulatorHarness.delegatedScope,
        ])
    }

    @Test func accountUserinfoHasProfiles() async throws {
        let sim = SimulatorHarness()
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let callback = try await sim.authorizeAccount("jane@example.com", serviceToken: token)
        let account = try json(await sim.exchange(code: try #require(callback.code), redirectURI: callback.callbackURL))
        let info = try json(await sim.get("/v1/userinfo", bearer: account["access_token"] as? String))
        #expect(info["sub"] as? String == account["sub"] as? String)
        #expect(info["cronofy.type"] as? String == "account")
        #expect(info["email"] as? String == "jane@example.com")
        let data = try #require(info["cronofy.data"] as? [String: Any])
        let profiles = try #require(data["profiles"] as? [[String: Any]])
        #expect(profiles.count == 1)
        #expect(profiles[0]["profile_name"] as? String == "jane@example.com")
        #expect(profiles[0]["profile_id"] as? String == (account["linking_profile"] as? [String: Any])?["profile_id"] as? String)
    }

    @Test func userinfoNeedsAValidToken() async throws {
        let sim = SimulatorHarness()
        #expect(await sim.get("/v1/userinfo").status.code == 401)
        #expect(await sim.get("/v1/userinfo", bearer: "unknown").status.code == 401)
        let tokens = try await sim.connectServiceAccount()
        sim.control.expireAccessTokens()
        #expect(await sim.get("/v1/userinfo", bearer: tokens["access_token"] as? String).status.code == 401)
        // A refresh after expiry gives a working token again.
        let refreshed = try json(await sim.refresh(try #require(tokens["refresh_token"] as? String)))
        #expect(await sim.get("/v1/userinfo", bearer: refreshed["access_token"] as? String).status.code == 200)
    }

    @Test func accessTokensExpirePerTokenLifetime() async throws {
        // 2 s: the "still valid" check must not be overtaken by a slow scheduler on a loaded machine.
        let sim = SimulatorHarness { $0.tokenLifetime = .seconds(2) }
        let tokens = try await sim.connectServiceAccount()
        #expect(tokens["expires_in"] as? Int == 2)
        #expect(await sim.get("/v1/userinfo", bearer: tokens["access_token"] as? String).status.code == 200)
        try await Task.sleep(for: .milliseconds(2100))
        #expect(await sim.get("/v1/userinfo", bearer: tokens["access_token"] as? String).status.code == 401)
    }

    @Test func resourcesListsTheDomainsRooms() async throws {
        let sim = SimulatorHarness()
        let tokens = try await sim.connectServiceAccount()
        let response = await sim.get("/v1/resources", bearer: tokens["access_token"] as? String)
        #expect(response.status.code == 200)
        #expect(text(response).hasPrefix(#"{"resources":[{"email":"board-room-london@example.com","name":"Board room (London)"}"#))
    }

    @Test func configuredResourcesAreListed() async throws {
        let sim = SimulatorHarness { $0.resources = [SimulatorResource(email: "r@x.test", name: "R")] }
        let tokens = try await sim.connectServiceAccount()
        let response = await sim.get("/v1/resources", bearer: tokens["access_token"] as? String)
        #expect(text(response) == #"{"resources":[{"email":"r@x.test","name":"R"}]}"#)
    }

    @Test func resourcesNeedTheResourcesManageScope() async throws {
        let sim = SimulatorHarness()
        let tokens = try await sim.connectServiceAccount(scope: "service_account/accounts/manage")
        #expect(await sim.get("/v1/resources", bearer: tokens["access_token"] as? String).status.code == 403)
        #expect(await sim.get("/v1/resources").status.code == 401)
    }
}
