import ECDHTTP
import Foundation
import Testing

@testable import ECDSimulator

@Suite("Fault injection and the control endpoint")
struct FaultTests {
    @Test func serverErrorForTheNextNCallsOfOneEndpoint() async throws {
        let sim = SimulatorHarness()
        let tokens = try await sim.connectServiceAccount()
        let bearer = tokens["access_token"] as? String
        sim.control.fail(.userinfo, with: .serverError, times: 2)
        #expect(await sim.get("/v1/resources", bearer: bearer).status.code == 200)
        #expect(await sim.get("/v1/userinfo", bearer: bearer).status.code == 500)
        #expect(await sim.get("/v1/userinfo", bearer: bearer).status.code == 500)
        #expect(await sim.get("/v1/userinfo", bearer: bearer).status.code == 200)
        #expect(sim.control.pendingFaults().isEmpty)
    }

    @Test func rateLimitedAnswers429WithRetryAfter() async throws {
        let sim = SimulatorHarness()
        let tokens = try await sim.connectServiceAccount()
        sim.control.fail(.token, with: .rateLimited(retryAfterSeconds: 7))
        let limited = await sim.refresh(try #require(tokens["refresh_token"] as? String))
        #expect(limited.status.code == 429)
        #expect(limited.headers["Retry-After"] == "7")
        // The refused call changed nothing: the same refresh token still works.
        #expect(await sim.refresh(try #require(tokens["refresh_token"] as? String)).status.code == 200)
    }

    @Test func slowAnswersAfterTheDelay() async throws {
        let sim = SimulatorHarness()
        let tokens = try await sim.connectServiceAccount()
        sim.control.fail(.userinfo, with: .slow(.milliseconds(200)))
        let start = ContinuousClock.now
        let response = await sim.get("/v1/userinfo", bearer: tokens["access_token"] as? String)
        #expect(response.status.code == 200)
        #expect(ContinuousClock.now - start >= .milliseconds(200))
    }

    @Test func anyMatchesEveryAPIEndpointButNotTheAuthorizePage() async throws {
        let sim = SimulatorHarness()
        sim.control.fail(.any, with: .serverError, times: 2)
        let code = try await sim.serviceAccountCode()
        #expect(await sim.exchange(code: code).status.code == 500)
        #expect(await sim.revoke("token", "x").status.code == 500)
        #expect(await sim.exchange(code: code).status.code == 200)
    }

    @Test func faultsFromTheConfigurationApplyFromTheStart() async throws {
        let sim = SimulatorHarness { $0.faults = [SimulatorFaultRule(endpoint: .revoke, fault: .serverError, count: 1)] }
        #expect(await sim.revoke("token", "x").status.code == 500)
        #expect(await sim.revoke("token", "x").status.code == 200)
    }

    @Test func revokeARefreshTokenOrAnAccountsAuthorization() async throws {
        let sim = SimulatorHarness()
        let service = try await sim.connectServiceAccount()
        let serviceRefresh = try #require(service["refresh_token"] as? String)
        #expect(sim.control.revokeRefreshToken(serviceRefresh))
        #expect(text(await sim.refresh(serviceRefresh)) == #"{"error":"invalid_grant"}"#)
        // The service account's access token is untouched by losing one refresh token.
        let token = try #require(service["access_token"] as? String)
        #expect(await sim.get("/v1/userinfo", bearer: token).status.code == 200)

        let callback = try await sim.authorizeAccount("jane@example.com", serviceToken: token)
        let account = try json(await sim.exchange(code: try #require(callback.code), redirectURI: callback.callbackURL))
        #expect(sim.control.revokeAuthorization(email: "JANE@example.com"))
        #expect(text(await sim.refresh(try #require(account["refresh_token"] as? String))) == #"{"error":"invalid_grant"}"#)
        #expect(!sim.control.revokeAuthorization(email: "nobody@example.com"))
    }

    @Test func callsAreRecordedWithBodiesAndStatuses() async throws {
        let sim = SimulatorHarness()
        let code = try await sim.serviceAccountCode()
        _ = await sim.exchange(code: code)
        _ = await sim.exchange(code: code)
        let calls = sim.control.calls(.token)
        #expect(calls.map(\.status) == [200, 400])
        #expect(calls[0].body.contains("\"redirect_uri\":\"\(SimulatorHarness.redirectURI)\""))
        #expect(sim.control.calls(.authorize).count == 1)
        #expect(sim.control.calls().count == 3)
    }

    @Test func controlEndpointMirrorsTheSwiftAPI() async throws {
        let sim = SimulatorHarness()
        #expect(await sim.postJSON("/_simulator/faults", #"{"endpoint":"userinfo","fault":"429@3","count":2}"#).status.code == 200)
        let faults = try json(await sim.get("/_simulator/faults"))
        #expect((faults["faults"] as? [[String: Any]])?.first?["fault"] as? String == "429@3")
        #expect(await sim.postJSON("/_simulator/faults", #"{"endpoint":"nowhere","fault":"500"}"#).status.code == 400)
        #expect(await sim.send(.delete, "/_simulator/faults").status.code == 200)
        #expect(sim.control.pendingFaults().isEmpty)

        #expect(await sim.postJSON("/_simulator/refused-emails", #"{"email":"r@example.com"}"#).status.code == 200)
        #expect(await sim.postJSON("/_simulator/dropped-callbacks", #"{"email":"d@example.com"}"#).status.code == 200)
        #expect(await sim.postJSON("/_simulator/callback-signing", #"{"enabled":true}"#).status.code == 200)
        #expect(await sim.postJSON("/_simulator/next-service-account",
            #"{"email":"a@org.test","domain":"org.test","provider":"office365"}"#).status.code == 200)
        let tokens = try await sim.connectServiceAccount()
        let token = try #require(tokens["access_token"] as? String)
        let info = try json(await sim.get("/v1/userinfo", bearer: token))
        #expect(info["email"] as? String == "a@org.test")

        let refused = try await sim.authorizeAccount("r@example.com", serviceToken: token)
        #expect(refused.error == "unable_to_grant_scope" && refused.signature != nil)
        #expect(try await sim.authorizeAccount("d@example.com", serviceToken: token).dropped)
        #expect(await sim.send(.delete, "/_simulator/refused-emails/r%40example.com").status.code == 200)
        #expect(await sim.send(.delete, "/_simulator/dropped-callbacks/d@example.com").status.code == 200)
        #expect(try await sim.authorizeAccount("r@example.com", serviceToken: token).code != nil)
        #expect(try await sim.authorizeAccount("d@example.com", serviceToken: token).delivered)

        let issued = try json(await sim.get("/_simulator/issued"))
        #expect((issued["access_tokens"] as? [String])?.contains(token) == true)
        #expect((issued["refresh_tokens"] as? [String])?.contains(tokens["refresh_token"] as! String) == true)
        #expect((issued["codes"] as? [String])?.count == 1 + 3)
        let callbacks = try json(await sim.get("/_simulator/callbacks"))
        let list = try #require(callbacks["callbacks"] as? [[String: Any]])
        #expect(list.count == 4)
        #expect((list[0]["attempts"] as? [[String: Any]])?.first?["status"] as? Int == 200)
        let calls = try json(await sim.get("/_simulator/calls?endpoint=authorizations"))
        #expect((calls["calls"] as? [[String: Any]])?.count == 4)
        // Each call says when it arrived (RFC 3339 with milliseconds), in arrival order.
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let arrivals = ((calls["calls"] as? [[String: Any]]) ?? []).compactMap { ($0["received_at"] as? String).flatMap(parser.date(from:)) }
        #expect(arrivals.count == 4)
        #expect(arrivals == arrivals.sorted())
        #expect(arrivals.allSatisfy { abs($0.timeIntervalSinceNow) < 120 })
        #expect(await sim.get("/_simulator/calls?endpoint=bogus").status.code == 400)

        let revoked = try json(await sim.postJSON("/_simulator/revoke", "{\"refresh_token\":\"\(tokens["refresh_token"] as! String)\"}"))
        #expect(revoked["revoked"] as? Bool == true)
        #expect(await sim.postJSON("/_simulator/expire-access-tokens", "").status.code == 200)
        #expect(await sim.get("/v1/userinfo", bearer: token).status.code == 401)
    }
}
