import ECDHTTP
import Foundation
import Testing

@testable import ECDSimulator

@Suite("POST /oauth/token and /oauth/token/revoke")
struct TokenTests {
    @Test func serviceAccountExchangeAnswersTheDocumentedShape() async throws {
        let sim = SimulatorHarness()
        let code = try await sim.serviceAccountCode()
        let response = await sim.exchange(code: code)
        #expect(response.status.code == 200)
        #expect(response.headers["Cache-Control"] == "no-store")
        #expect(response.headers["Pragma"] == "no-cache")
        #expect(response.headers["Content-Type"] == "application/json; charset=utf-8")
        let body = try json(response)
        #expect(Set(body.keys) == ["token_type", "access_token", "expires_in", "refresh_token", "scope", "service_account_id"])
        #expect(body["token_type"] as? String == "bearer")
        #expect(body["expires_in"] as? Int == 1800)
        #expect(body["scope"] as? String == SimulatorHarness.serviceScope)
        let id = try #require(body["service_account_id"] as? String)
        #expect(id.hasPrefix("ser_") && id.count == 28 && id.dropFirst(4).allSatisfy(\.isHexDigit))
        #expect(text(response).hasPrefix("{\"token_type\":\"bearer\",\"access_token\":"))
    }

    @Test func aCodeWorksOnce() async throws {
        let sim = SimulatorHarness()
        let code = try await sim.serviceAccountCode()
        #expect(await sim.exchange(code: code).status.code == 200)
        let again = await sim.exchange(code: code)
        #expect(again.status.code == 400)
        #expect(text(again) == #"{"error":"invalid_grant"}"#)
    }

    @Test func anExpiredCodeIsInvalidGrant() async throws {
        let sim = SimulatorHarness { $0.codeLifetime = .milliseconds(30) }
        let code = try await sim.serviceAccountCode()
        try await Task.sleep(for: .milliseconds(60))
        #expect(text(await sim.exchange(code: code)) == #"{"error":"invalid_grant"}"#)
    }

    @Test func aCodeIsBoundToItsRedirectURIAndAMismatchDoesNotSpendIt() async throws {
        let sim = SimulatorHarness()
        let code = try await sim.serviceAccountCode()
        let wrong = await sim.exchange(code: code, redirectURI: "https://ecd.example.org/oauth/callback/")
        #expect(wrong.status.code == 400)
        #expect(text(wrong) == #"{"error":"invalid_grant"}"#)
        #expect(await sim.exchange(code: code).status.code == 200)
    }

    @Test func unknownCodeIsInvalidGrant() async throws {
        let sim = SimulatorHarness()
        #expect(text(await sim.exchange(code: "0123456789abcdef0123456789abcdef")) == #"{"error":"invalid_grant"}"#)
    }

    @Test func wrongOrMissingClientCredentialsAreInvalidClient() async throws {
        let sim = SimulatorHarness()
        let code = try await sim.serviceAccountCode()
        let wrongSecret = await sim.postJSON("/oauth/token", """
            {"client_id":"sim_client_id","client_secret":"nope","grant_type":"authorization_code","code":"\(code)","redirect_uri":"\(SimulatorHarness.redirectURI)"}
            """)
        #expect(wrongSecret.status.code == 400)
        #expect(text(wrongSecret) == #"{"error":"invalid_client"}"#)
        // HTTP Basic is not how Cronofy takes client credentials.
        let basic = await sim.send(
            .post, "/oauth/token",
            body: #"{"grant_type":"authorization_code","code":"\#(code)","redirect_uri":"\#(SimulatorHarness.redirectURI)"}"#,
            contentType: "application/json", headers: [("Authorization", "Basic c2ltX2NsaWVudF9pZDpzaW1fY2xpZW50X3NlY3JldA==")])
        #expect(text(basic) == #"{"error":"invalid_client"}"#)
        // The code was not spent by either attempt.
        #expect(await sim.exchange(code: code).status.code == 200)
    }

    @Test func formEncodedBodiesAreAccepted() async throws {
        let sim = SimulatorHarness()
        let code = try await sim.serviceAccountCode()
        let body = URLEncoding.query([
            ("client_id", "sim_client_id"), ("client_secret", "sim_client_secret"), ("grant_type", "authorization_code"),
            ("code", code), ("redirect_uri", SimulatorHarness.redirectURI),
        ])
        let response = await sim.send(.post, "/oauth/token", body: body, contentType: "application/x-www-form-urlencoded")
        #expect(response.status.code == 200)
        let tokens = try json(response)
        let form = URLEncoding.query([
            ("client_id", "sim_client_id"), ("client_secret", "sim_client_secret"), ("grant_type", "refresh_token"),
            ("refresh_token", try #require(tokens["refresh_token"] as? String)),
        ])
        #expect(await sim.send(.post, "/oauth/token", body: form, contentType: "application/x-www-form-urlencoded").status.code == 200)
    }

    @Test func badRequestsGetRFC6749Errors() async throws {
        let sim = SimulatorHarness()
        let creds = #""client_id":"sim_client_id","client_secret":"sim_client_secret""#
        let unsupported = try json(await sim.postJSON("/oauth/token", "{\(creds),\"grant_type\":\"password\"}"))
        #expect(unsupported["error"] as? String == "unsupported_grant_type")
        let noCode = try json(await sim.postJSON("/oauth/token", "{\(creds),\"grant_type\":\"authorization_code\"}"))
        #expect(noCode["error"] as? String == "invalid_request")
        let malformed = await sim.postJSON("/oauth/token", "{not json")
        #expect(malformed.status.code == 400)
        #expect(try json(malformed)["error"] as? String == "invalid_request")
    }

    @Test func refreshRotatesTheRefreshTokenAndIssuesANewAccessToken() async throws {
        let sim = SimulatorHarness()
        let tokens = try await sim.connectServiceAccount()
        let firstRefresh = try #require(tokens["refresh_token"] as? String)
        let response = await sim.refresh(firstRefresh)
        #expect(response.status.code == 200)
        #expect(response.headers["Cache-Control"] == "no-store")
        let refreshed = try json(response)
        #expect(Set(refreshed.keys) == ["token_type", "access_token", "expires_in", "refresh_token", "scope"])
        let secondRefresh = try #require(refreshed["refresh_token"] as? String)
        #expect(secondRefresh != firstRefresh)
        #expect(refreshed["access_token"] as? String != tokens["access_token"] as? String)
        // The spent refresh token is dead; the new one works.
        #expect(text(await sim.refresh(firstRefresh)) == #"{"error":"invalid_grant"}"#)
        #expect(await sim.refresh(secondRefresh).status.code == 200)
        #expect(await sim.get("/v1/userinfo", bearer: refreshed["access_token"] as? String).status.code == 200)
    }

    @Test func revokeByRefreshTokenEndsTheWholeAuthorization() async throws {
        let sim = SimulatorHarness()
        let tokens = try await sim.connectServiceAccount()
        let access = try #require(tokens["access_token"] as? String)
        let refresh = try #require(tokens["refresh_token"] as? String)
        let response = await sim.revoke("token", refresh)
        #expect(response.status.code == 200)
        #expect(response.body.isEmpty)
        #expect(await sim.get("/v1/userinfo", bearer: access).status.code == 401)
        #expect(text(await sim.refresh(refresh)) == #"{"error":"invalid_grant"}"#)
        // Revoking again, or an unknown token, is still 200 (RFC 7009 §2.2).
        #expect(await sim.revoke("token", refresh).status.code == 200)
        #expect(await sim.revoke("token", "unknown").status.code == 200)
    }

    @Test func revokeByAccessTokenAndTokenWinsOverSub() async throws {
        let sim = SimulatorHarness()
        let a = try await sim.connectServiceAccount()
        sim.control.setNextServiceAccount(ServiceAccountIdentity(email: "b@b.test", domain: "b.test", provider: "google"))
        let b = try await sim.connectServiceAccount()
        let response = await sim.postJSON("/oauth/token/revoke", """
            {"client_id":"sim_client_id","client_secret":"sim_client_secret","token":"\(a["access_token"] as! String)","sub":"\(b["service_account_id"] as! String)"}
            """)
        #expect(response.status.code == 200)
        #expect(await sim.get("/v1/userinfo", bearer: a["access_token"] as? String).status.code == 401)
        #expect(await sim.get("/v1/userinfo", bearer: b["access_token"] as? String).status.code == 200)
    }

    @Test func revokeNeedsClientCredentialsAndATokenOrSub() async throws {
        let sim = SimulatorHarness()
        let noClient = await sim.postJSON("/oauth/token/revoke", #"{"token":"x"}"#)
        #expect(noClient.status.code == 400)
        #expect(text(noClient) == #"{"error":"invalid_client"}"#)
        let nothing = await sim.postJSON("/oauth/token/revoke", #"{"client_id":"sim_client_id","client_secret":"sim_client_secret"}"#)
        #expect(try json(nothing)["error"] as? String == "invalid_request")
    }

    @Test func revokingTheServiceAccountBySubCascadesToItsAccounts() async throws {
        let sim = SimulatorHarness()
        let service = try await sim.connectServiceAccount()
        let serviceToken = try #require(service["access_token"] as? String)
        let callback = try await sim.authorizeAccount("jane@example.com", serviceToken: serviceToken)
        let account = try json(await sim.exchange(code: try #require(callback.code), redirectURI: callback.callbackURL))
        let accountAccess = try #require(account["access_token"] as? String)
        let accountRefresh = try #require(account["refresh_token"] as? String)
        // A callback sent but not yet exchanged when the revoke happens.
        let pending = try await sim.authorizeAccount("joe@example.com", serviceToken: serviceToken)

        #expect(await sim.revoke("sub", try #require(service["service_account_id"] as? String)).status.code == 200)
        #expect(await sim.get("/v1/userinfo", bearer: serviceToken).status.code == 401)
        #expect(await sim.get("/v1/userinfo", bearer: accountAccess).status.code == 401)
        #expect(text(await sim.refresh(accountRefresh)) == #"{"error":"invalid_grant"}"#)
        #expect(text(await sim.exchange(code: try #require(pending.code), redirectURI: pending.callbackURL)) == #"{"error":"invalid_grant"}"#)
    }

    @Test func revokingAnAccountLeavesItsServiceAccount() async throws {
        let sim = SimulatorHarness()
        let service = try await sim.connectServiceAccount()
        let serviceToken = try #require(service["access_token"] as? String)
        let callback = try await sim.authorizeAccount("jane@example.com", serviceToken: serviceToken)
        let account = try json(await sim.exchange(code: try #require(callback.code), redirectURI: callback.callbackURL))
        #expect(await sim.revoke("sub", try #require(account["sub"] as? String)).status.code == 200)
        #expect(await sim.get("/v1/userinfo", bearer: account["access_token"] as? String).status.code == 401)
        #expect(await sim.get("/v1/userinfo", bearer: serviceToken).status.code == 200)
    }
}
