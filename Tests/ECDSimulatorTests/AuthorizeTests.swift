import ECDHTTP
import Foundation
import Testing

@testable import ECDSimulator

@Suite("Enterprise Connect authorize page")
struct AuthorizeTests {
    @Test func autoApproveRedirectsWithA32CharacterCodeAndTheState() async throws {
        let sim = SimulatorHarness()
        let response = await sim.get(sim.authorizeTarget(state: "a b/c", autoApprove: true))
        #expect(response.status.code == 302)
        let location = try #require(response.headers["Location"])
        #expect(location.hasPrefix(SimulatorHarness.redirectURI + "?code="))
        let code = try #require(SimulatorHarness.queryValue("code", in: location))
        #expect(code.utf8.count == 32)
        #expect(code.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(SimulatorHarness.queryValue("state", in: location) == "a b/c")
        #expect(location.contains("state=a%20b%2Fc"))
        #expect(sim.control.issued().codes == [code])
    }

    @Test func pageShowsTheRequestAndTwoFormsWithoutJavaScript() async throws {
        let sim = SimulatorHarness()
        let response = await sim.get(sim.authorizeTarget())
        #expect(response.status.code == 200)
        #expect(response.headers["Content-Type"]?.hasPrefix("text/html") == true)
        let html = text(response)
        #expect(!html.contains("<script"))
        #expect(html.contains("service-account@example.com"))
        #expect(html.contains("service_account/resources/manage"))
        #expect(html.contains("read_free_busy"))
        #expect(html.components(separatedBy: "<form method=\"post\" action=\"/enterprise_connect/oauth/decision\">").count == 3)
        #expect(html.contains("value=\"approve\"") && html.contains("value=\"deny\""))
        // Nothing is issued until the admin answers.
        #expect(sim.control.issued().codes.isEmpty)
    }

    @Test func approveByFormPostRedirectsWithCodeAndIsSingleUse() async throws {
        let sim = SimulatorHarness()
        let approval = try Self.approvalID(text(await sim.get(sim.authorizeTarget(state: "xyz"))))
        let response = await sim.send(
            .post, "/enterprise_connect/oauth/decision", body: "approval=\(approval)&decision=approve",
            contentType: "application/x-www-form-urlencoded")
        #expect(response.status.code == 302)
        let location = try #require(response.headers["Location"])
        #expect(SimulatorHarness.queryValue("code", in: location)?.count == 32)
        #expect(SimulatorHarness.queryValue("state", in: location) == "xyz")
        let again = await sim.send(
            .post, "/enterprise_connect/oauth/decision", body: "approval=\(approval)&decision=approve",
            contentType: "application/x-www-form-urlencoded")
        #expect(again.status.code == 400)
    }

    @Test func denyRedirectsWithAccessDeniedAndState() async throws {
        let sim = SimulatorHarness()
        let approval = try Self.approvalID(text(await sim.get(sim.authorizeTarget(state: "s-9"))))
        let response = await sim.get("/enterprise_connect/oauth/decision?approval=\(approval)&decision=deny")
        #expect(response.status.code == 302)
        #expect(response.headers["Location"] == SimulatorHarness.redirectURI + "?error=access_denied&state=s-9")
        #expect(sim.control.issued().codes.isEmpty)
    }

    @Test func unknownClientIsToldNotRedirected() async throws {
        let sim = SimulatorHarness()
        let response = await sim.get(sim.authorizeTarget(clientID: "someone_else"))
        #expect(response.status.code == 400)
        #expect(response.headers["Location"] == nil)
        let noRedirect = await sim.get(sim.authorizeTarget(redirectURI: "javascript:alert(1)"))
        #expect(noRedirect.status.code == 400)
        #expect(noRedirect.headers["Location"] == nil)
    }

    @Test func wrongResponseTypeRedirectsWithUnsupportedResponseType() async throws {
        let sim = SimulatorHarness()
        let response = await sim.get(sim.authorizeTarget(responseType: "token", state: "q"))
        #expect(response.headers["Location"] == SimulatorHarness.redirectURI + "?error=unsupported_response_type&state=q")
    }

    @Test func noValidServiceAccountScopeRedirectsWithInvalidScope() async throws {
        let sim = SimulatorHarness()
        let legacy = await sim.get(sim.authorizeTarget(scope: "service_account/manage_accounts read_events", state: nil))
        #expect(legacy.headers["Location"] == SimulatorHarness.redirectURI + "?error=invalid_scope")
        let missingDelegated = await sim.get(sim.authorizeTarget(delegatedScope: "", state: "d"))
        #expect(missingDelegated.headers["Location"] == SimulatorHarness.redirectURI + "?error=invalid_request&state=d")
    }

    @Test func unknownScopesAreDroppedFromTheGrant() async throws {
        let sim = SimulatorHarness()
        let tokens = try await sim.connectServiceAccount(scope: "service_account/accounts/manage bogus/scope")
        #expect(tokens["scope"] as? String == "service_account/accounts/manage")
    }

    @Test func redirectURIWithItsOwnQueryKeepsIt() async throws {
        let sim = SimulatorHarness()
        let response = await sim.get(sim.authorizeTarget(redirectURI: "https://a.example/cb?tenant=7", autoApprove: true))
        let location = try #require(response.headers["Location"])
        #expect(location.hasPrefix("https://a.example/cb?tenant=7&code="))
    }

    @Test func nextServiceAccountIdentityAppliesOnce() async throws {
        let sim = SimulatorHarness()
        sim.control.setNextServiceAccount(ServiceAccountIdentity(email: "admin@org2.test", domain: "org2.test", provider: "office365"))
        let first = try await sim.connectServiceAccount()
        let second = try await sim.connectServiceAccount()
        let firstInfo = try json(await sim.get("/v1/userinfo", bearer: first["access_token"] as? String))
        let secondInfo = try json(await sim.get("/v1/userinfo", bearer: second["access_token"] as? String))
        #expect(firstInfo["email"] as? String == "admin@org2.test")
        #expect(secondInfo["email"] as? String == "service-account@example.com")
        #expect(first["service_account_id"] as? String != second["service_account_id"] as? String)
    }

    @Test func autoApproveForEveryRequestByConfigurationOrControl() async throws {
        let sim = SimulatorHarness { $0.autoApprove = true }
        #expect(await sim.get(sim.authorizeTarget()).status.code == 302)
        sim.control.setAutoApprove(false)
        #expect(await sim.get(sim.authorizeTarget()).status.code == 200)
        #expect(await sim.postJSON("/_simulator/auto-approve", #"{"enabled":true}"#).status.code == 200)
        let response = await sim.get(sim.authorizeTarget())
        #expect(response.status.code == 302)
        #expect(response.headers["Location"]?.contains("code=") == true)
        // Validation still comes first.
        #expect(await sim.get(sim.authorizeTarget(clientID: "other")).status.code == 400)
    }

    static func approvalID(_ html: String) throws -> String {
        let marker = "name=\"approval\" value=\""
        let start = try #require(html.range(of: marker)).upperBound
        return String(html[start...].prefix { $0 != "\"" })
    }
}
