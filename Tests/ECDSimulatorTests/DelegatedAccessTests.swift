import ECDCrypto
import ECDHTTP
import Foundation
import Testing

@testable import ECDSimulator

@Suite("POST /v1/service_account_authorizations and its callbacks")
struct DelegatedAccessTests {
    @Test func acceptedWith202EmptyBodyThenTheCallbackCarriesCodeAndState() async throws {
        let sim = SimulatorHarness()
        let service = try await sim.connectServiceAccount()
        let token = try #require(service["access_token"] as? String)
        let callbackURL = "https://ecd.example.org/callbacks/delegated/r1?x=1"
        let response = await sim.postJSON("/v1/service_account_authorizations", """
            {"email":"jane@example.com","callback_url":"\(callbackURL)","scope":"read_events create_event","state":"st-jane"}
            """, bearer: token)
        #expect(response.status.code == 202)
        #expect(response.body.isEmpty)
        let callbacks = await sim.control.waitForCallbacks(count: 1)
        let callback = try #require(callbacks.first)
        #expect(callback.delivered && callback.attempts == [.init(status: 200)])
        let post = try #require(sim.transport.posts.first)
        #expect(post.url == callbackURL)
        #expect(post.header("Content-Type") == "application/json")
        #expect(post.header("Cronofy-HMAC-SHA256") == nil)
        let code = try #require(callback.code)
        #expect(String(decoding: post.body, as: UTF8.self) == #"{"authorization":{"code":"\#(code)","state":"st-jane"}}"#)
        #expect(code.count == 32)
    }

    @Test func theDelegatedCodeExchangesAtTheExactCallbackURLForAnAccountToken() async throws {
        let sim = SimulatorHarness()
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let callback = try await sim.authorizeAccount("Jane@Example.com", serviceToken: token)
        let code = try #require(callback.code)
        // Another URL, even with the same path, is refused and does not spend the code.
        #expect(text(await sim.exchange(code: code, redirectURI: SimulatorHarness.redirectURI)) == #"{"error":"invalid_grant"}"#)
        // Both keys, as the daemon sends them; a differing callback_url is refused too.
        let differing = await sim.exchange(code: code, redirectURI: callback.callbackURL, extra: #","callback_url":"https://other.example/cb""#)
        #expect(differing.status.code == 400)
        let response = await sim.exchange(code: code, redirectURI: callback.callbackURL, extra: ",\"callback_url\":\"\(callback.callbackURL)\"")
        #expect(response.status.code == 200)
        let body = try json(response)
        let accountID = try #require(body["account_id"] as? String)
        #expect(accountID.hasPrefix("acc_") && accountID.count == 28)
        #expect(body["sub"] as? String == accountID)
        #expect(body["scope"] as? String == "read_events create_event")
        let profile = try #require(body["linking_profile"] as? [String: Any])
        #expect(profile["provider_name"] as? String == "google")
        #expect((profile["profile_id"] as? String)?.hasPrefix("pro_") == true)
        #expect(profile["profile_name"] as? String == "Jane@Example.com")
        #expect(body["service_account_id"] == nil)

        // The account id is stable per mailbox (case-insensitively).
        let again = try await sim.authorizeAccount("jane@example.com", serviceToken: token)
        let second = try json(await sim.exchange(code: try #require(again.code), redirectURI: again.callbackURL))
        #expect(second["account_id"] as? String == accountID)
    }

    @Test func callbackURLKeyAloneIsAcceptedForTheDelegatedExchange() async throws {
        let sim = SimulatorHarness()
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let callback = try await sim.authorizeAccount("jane@example.com", serviceToken: token)
        let response = await sim.postJSON("/oauth/token", """
            {"client_id":"sim_client_id","client_secret":"sim_client_secret","grant_type":"authorization_code","code":"\(callback.code!)","callback_url":"\(callback.callbackURL)"}
            """)
        #expect(response.status.code == 200)
    }

    @Test func refusedEmailGetsUnableToGrantScope() async throws {
        let sim = SimulatorHarness { $0.refusedEmails = ["room@example.com"] }
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let callback = try await sim.authorizeAccount("Room@example.com", serviceToken: token, state: "s-room")
        #expect(callback.code == nil)
        #expect(callback.error == "unable_to_grant_scope")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(callback.body.utf8)) as? [String: Any])
        let authorization = try #require(body["authorization"] as? [String: Any])
        #expect(Set(authorization.keys) == ["error", "error_key", "error_description", "state"])
        #expect(authorization["error_key"] as? String == "unable_to_grant_scope")
        #expect(authorization["state"] as? String == "s-room")

        sim.control.refuse(email: "joe@example.com")
        #expect(try await sim.authorizeAccount("joe@example.com", serviceToken: token).error == "unable_to_grant_scope")
        sim.control.allow(email: "joe@example.com")
        #expect(try await sim.authorizeAccount("joe@example.com", serviceToken: token).code != nil)
    }

    @Test func signedCallbacksCarryAVerifiableHMAC() async throws {
        let sim = SimulatorHarness { $0.signCallbacks = true; $0.clientSecret = "pDY0Oi7TJSP2hfNmZNkm5" }
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        _ = try await sim.authorizeAccount("jane@example.com", serviceToken: token)
        let post = try #require(sim.transport.posts.last)
        let header = try #require(post.header("Cronofy-HMAC-SHA256"))
        let expected = Base64.encode(HMACSHA256.mac(key: Array("pDY0Oi7TJSP2hfNmZNkm5".utf8), message: post.body))
        #expect(header == expected)
        #expect(sim.control.callbacks().last?.signature == header)
        // The reference's known-answer vector, through the simulator's own signer.
        #expect(CallbackSignature.value(clientSecret: "pDY0Oi7TJSP2hfNmZNkm5", body: Array(#"{"example":"well-known"}"#.utf8))
            == "6r2/HjBkqymGegX0wOfifieeUXbbHwtV/LohHS+jv6c=")

        sim.control.setCallbackSigning(false)
        _ = try await sim.authorizeAccount("joe@example.com", serviceToken: token)
        #expect(sim.transport.posts.last?.header("Cronofy-HMAC-SHA256") == nil)
    }

    @Test func droppedCallbacksAreNeverSent() async throws {
        let sim = SimulatorHarness()
        sim.control.dropCallbacks(email: "lost@example.com")
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let callback = try await sim.authorizeAccount("lost@example.com", serviceToken: token)
        #expect(callback.dropped && callback.finished && !callback.delivered && callback.attempts.isEmpty)
        #expect(sim.transport.posts.isEmpty)
    }

    @Test func batchFormSendsOneCallbackPerEntry() async throws {
        let sim = SimulatorHarness()
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let entries = (1...3).map {
            #"{"email":"u\#($0)@example.com","callback_url":"https://ecd.example.org/cb/\#($0)","scope":"read_events","state":"s\#($0)"}"#
        }
        let response = await sim.postJSON("/v1/service_account_authorizations",
            #"{"service_account_authorizations":[\#(entries.joined(separator: ","))]}"#, bearer: token)
        #expect(response.status.code == 202)
        let callbacks = await sim.control.waitForCallbacks(count: 3)
        #expect(Set(callbacks.map(\.email)) == ["u1@example.com", "u2@example.com", "u3@example.com"])
        #expect(Set(sim.transport.posts.map(\.url)) == ["https://ecd.example.org/cb/1", "https://ecd.example.org/cb/2", "https://ecd.example.org/cb/3"])
    }

    @Test func batchesMustHoldOneToFiftyEntries() async throws {
        let sim = SimulatorHarness()
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let entry = #"{"email":"u@example.com","callback_url":"https://ecd.example.org/cb","scope":"read_events"}"#
        let fifty = await sim.postJSON("/v1/service_account_authorizations",
            #"{"service_account_authorizations":[\#(Array(repeating: entry, count: 50).joined(separator: ","))]}"#, bearer: token)
        #expect(fifty.status.code == 202)
        for count in [0, 51] {
            let response = await sim.postJSON("/v1/service_account_authorizations",
                #"{"service_account_authorizations":[\#(Array(repeating: entry, count: count).joined(separator: ","))]}"#, bearer: token)
            #expect(response.status.code == 422)
            let errors = try #require(try json(response)["errors"] as? [String: Any])
            #expect(errors["service_account_authorizations"] != nil)
        }
    }

    @Test func missingFieldsAre422InCronofysShape() async throws {
        let sim = SimulatorHarness()
        let token = try #require(try await sim.connectServiceAccount()["access_token"] as? String)
        let missingEmail = await sim.postJSON("/v1/service_account_authorizations",
            #"{"callback_url":"https://ecd.example.org/cb","scope":"read_events"}"#, bearer: token)
        #expect(missingEmail.status.code == 422)
        #expect(text(missingEmail) == #"{"errors":{"email":[{"key":"errors.required","description":"required"}]}}"#)
        let all = try json(await sim.postJSON("/v1/service_account_authorizations", "{}", bearer: token))
        let errors = try #require(all["errors"] as? [String: Any])
        #expect(Set(errors.keys) == ["email", "callback_url", "scope"])
        let batch = try json(await sim.postJSON("/v1/service_account_authorizations",
            #"{"service_account_authorizations":[{"email":"a@example.com","callback_url":"ftp://x","scope":"read_events"}]}"#, bearer: token))
        let batchErrors = try #require(batch["errors"] as? [String: [[String: String]]])
        #expect(batchErrors["service_account_authorizations[0].callback_url"]?.first?["key"] == "errors.invalid")
        #expect(sim.control.callbacks().isEmpty)
    }

    @Test func scopeBeyondTheDelegatedScopeIs403() async throws {
        let sim = SimulatorHarness()
        let token = try #require(try await sim.connectServiceAccount(delegatedScope: "read_free_busy")["access_token"] as? String)
        let response = await sim.postJSON("/v1/service_account_authorizations",
            #"{"email":"a@example.com","callback_url":"https://ecd.example.org/cb","scope":"read_events"}"#, bearer: token)
        #expect(response.status.code == 403)
        #expect(sim.control.callbacks().isEmpty)
    }

    @Test func resourcesNeedTheResourcesScopeAndUsersTheAccountsScope() async throws {
        let sim = SimulatorHarness()
        let token = try #require(try await sim.connectServiceAccount(scope: "service_account/accounts/manage")["access_token"] as? String)
        let room = await sim.postJSON("/v1/service_account_authorizations",
            #"{"email":"board-room-london@example.com","callback_url":"https://ecd.example.org/cb","scope":"read_events"}"#, bearer: token)
        #expect(room.status.code == 403)
        let user = await sim.postJSON("/v1/service_account_authorizations",
            #"{"email":"jane@example.com","callback_url":"https://ecd.example.org/cb","scope":"read_events"}"#, bearer: token)
        #expect(user.status.code == 202)
    }

    @Test func unknownExpiredOrAccountTokensAreRefused() async throws {
        let sim = SimulatorHarness()
        let body = #"{"email":"a@example.com","callback_url":"https://ecd.example.org/cb","scope":"read_events"}"#
        #expect(await sim.postJSON("/v1/service_account_authorizations", body).status.code == 401)
        #expect(await sim.postJSON("/v1/service_account_authorizations", body, bearer: "nope").status.code == 401)
        let service = try await sim.connectServiceAccount()
        let token = try #require(service["access_token"] as? String)
        let callback = try await sim.authorizeAccount("jane@example.com", serviceToken: token)
        let account = try json(await sim.exchange(code: try #require(callback.code), redirectURI: callback.callbackURL))
        #expect(await sim.postJSON("/v1/service_account_authorizations", body, bearer: account["access_token"] as? String).status.code == 403)
        sim.control.expireAccessTokens()
        let expired = await sim.postJSON("/v1/service_account_authorizations", body, bearer: token)
        #expect(expired.status.code == 401)
        #expect(expired.headers["WWW-Authenticate"] == #"Bearer error="invalid_token""#)
    }
}
