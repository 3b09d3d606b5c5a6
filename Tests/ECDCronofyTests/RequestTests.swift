import Foundation
import Testing
@testable import ECDCronofy

/// Exact requests for each call: method, URL, headers, and the JSON body compared semantically.
@Suite struct RequestTests {
    static let tokenJSON = #"{"token_type":"bearer","access_token":"at","expires_in":1800,"refresh_token":"rt","scope":"s"}"#

    private func expectCommonHeaders(_ request: TransportRequest, json: Bool, bearer: String?) {
        let headers = headerPairs(request)
        #expect(headers["accept"] == "application/json")
        #expect(headers["user-agent"] == "ecd/0.1 (+Enterprise Connect daemon)")
        #expect(headers["content-type"] == (json ? "application/json; charset=utf-8" : nil))
        #expect(headers["authorization"] == bearer.map { "Bearer \($0)" })
        #expect(request.timeout == .seconds(15))
    }

    @Test func exchangeCodeForServiceAccount() async throws {
        let transport = RecordingTransport(status: 200, json: Self.tokenJSON)
        _ = try await Fixture.client(transport).exchangeCode("CODE32charsCODE32charsCODE32char", redirectURI: "https://ecd.example/connect/callback")
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://api.cronofy.com/oauth/token")
        expectCommonHeaders(request, json: true, bearer: nil)
        #expect(jsonObject(request.body) == jsonObject("""
            {"client_id":"cid_test_client","client_secret":"CRN_secretSECRETsecret0123456789",
             "grant_type":"authorization_code","code":"CODE32charsCODE32charsCODE32char",
             "redirect_uri":"https://ecd.example/connect/callback"}
            """))
    }

    @Test func exchangeDelegatedCodeSendsCallbackURLToo() async throws {
        let transport = RecordingTransport(status: 200, json: Self.tokenJSON)
        let callback = "https://ecd.example/cronofy/callback/abc?account=x%40y"
        _ = try await Fixture.client(transport).exchangeCode("dcode", redirectURI: callback, sendCallbackURL: true)
        let request = try #require(transport.requests.first)
        #expect(jsonObject(request.body) == jsonObject("""
            {"client_id":"cid_test_client","client_secret":"CRN_secretSECRETsecret0123456789",
             "grant_type":"authorization_code","code":"dcode",
             "redirect_uri":"\(callback)","callback_url":"\(callback)"}
            """))
    }

    @Test func refresh() async throws {
        let transport = RecordingTransport(status: 200, json: Self.tokenJSON)
        _ = try await Fixture.client(transport).refresh(refreshToken: "refresh-1")
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://api.cronofy.com/oauth/token")
        expectCommonHeaders(request, json: true, bearer: nil)
        #expect(jsonObject(request.body) == jsonObject("""
            {"client_id":"cid_test_client","client_secret":"CRN_secretSECRETsecret0123456789",
             "grant_type":"refresh_token","refresh_token":"refresh-1"}
            """))
    }

    @Test func revokeByTokenAndBySub() async throws {
        let transport = RecordingTransport([.status(200), .status(200)])
        let client = Fixture.client(transport)
        try await client.revoke(token: "rt-9")
        try await client.revoke(sub: "ser_529716002600402")
        let requests = transport.requests
        #expect(requests.count == 2)
        for request in requests {
            #expect(request.method == "POST")
            #expect(request.url.absoluteString == "https://api.cronofy.com/oauth/token/revoke")
            expectCommonHeaders(request, json: true, bearer: nil)
        }
        #expect(jsonObject(requests[0].body) == jsonObject(
            #"{"client_id":"cid_test_client","client_secret":"CRN_secretSECRETsecret0123456789","token":"rt-9"}"#))
        #expect(jsonObject(requests[1].body) == jsonObject(
            #"{"client_id":"cid_test_client","client_secret":"CRN_secretSECRETsecret0123456789","sub":"ser_529716002600402"}"#))
    }

    @Test func singleDelegatedAccessRequest() async throws {
        let transport = RecordingTransport(status: 202)
        let request = DelegatedAccessRequest(email: "jane@example.org", callbackURL: "https://ecd.example/cb/1",
                                             scope: "read_events create_event", state: "st1")
        try await Fixture.client(transport).authorizeWithServiceAccount(accessToken: "sa-token", requests: [request])
        let sent = try #require(transport.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.url.absoluteString == "https://api.cronofy.com/v1/service_account_authorizations")
        expectCommonHeaders(sent, json: true, bearer: "sa-token")
        #expect(jsonObject(sent.body) == jsonObject(
            #"{"email":"jane@example.org","callback_url":"https://ecd.example/cb/1","scope":"read_events create_event","state":"st1"}"#))
    }

    @Test func batchDelegatedAccessRequest() async throws {
        let transport = RecordingTransport(status: 202)
        let requests = (1...3).map {
            DelegatedAccessRequest(email: "u\($0)@example.org", callbackURL: "https://ecd.example/cb/\($0)",
                                   scope: "free_busy", state: "s\($0)")
        }
        try await Fixture.client(transport).authorizeWithServiceAccount(accessToken: "sa-token", requests: requests)
        let sent = try #require(transport.requests.first)
        #expect(transport.requests.count == 1)
        #expect(jsonObject(sent.body) == jsonObject("""
            {"service_account_authorizations":[
              {"email":"u1@example.org","callback_url":"https://ecd.example/cb/1","scope":"free_busy","state":"s1"},
              {"email":"u2@example.org","callback_url":"https://ecd.example/cb/2","scope":"free_busy","state":"s2"},
              {"email":"u3@example.org","callback_url":"https://ecd.example/cb/3","scope":"free_busy","state":"s3"}]}
            """))
    }

    @Test func batchOfFiftyIsOneCallAndEmptyIsNone() async throws {
        let transport = RecordingTransport(status: 202)
        let client = Fixture.client(transport)
        try await client.authorizeWithServiceAccount(accessToken: "t", requests: [])
        #expect(transport.requests.isEmpty)
        let fifty = (1...50).map { DelegatedAccessRequest(email: "u\($0)@e.org", callbackURL: "c", scope: "s", state: "\($0)") }
        try await client.authorizeWithServiceAccount(accessToken: "t", requests: fifty)
        let body = try #require(jsonObject(transport.requests.first?.body) as? [String: Any])
        #expect((body["service_account_authorizations"] as? [Any])?.count == 50)
    }

    @Test func userInfoAndResourcesAreBearerGETsWithoutBody() async throws {
        let transport = RecordingTransport([.status(200, #"{"sub":"ser_1"}"#), .status(200, #"{"resources":[]}"#)])
        let client = Fixture.client(transport)
        _ = try await client.userInfo(accessToken: "tok-a")
        _ = try await client.resources(accessToken: "tok-b")
        let requests = transport.requests
        #expect(requests.map(\.method) == ["GET", "GET"])
        #expect(requests.map(\.url.absoluteString) == ["https://api.cronofy.com/v1/userinfo", "https://api.cronofy.com/v1/resources"])
        #expect(requests.allSatisfy { $0.body == nil })
        expectCommonHeaders(requests[0], json: false, bearer: "tok-a")
        expectCommonHeaders(requests[1], json: false, bearer: "tok-b")
    }

    @Test func metricsHookSeesEveryAttempt() async throws {
        let transport = RecordingTransport([.status(503), .status(200, Self.tokenJSON), .status(400, #"{"error":"invalid_grant"}"#)])
        let client = Fixture.client(transport)
        let log = CallLog()
        client.onCall = { endpoint, outcome, duration in
            #expect(duration >= .zero)
            log.add(endpoint, outcome)
        }
        _ = try await client.refresh(refreshToken: "r")
        await #expect(throws: CronofyError.invalidGrant(description: nil)) { try await client.refresh(refreshToken: "r") }
        #expect(log.calls.map { "\($0.0):\($0.1)" } == ["token:5xx", "token:ok", "token:invalid_grant"])
    }

    @Test func budgetWaitHookSeesEveryAttempt() async throws {
        let transport = RecordingTransport([.status(503), .status(200, Self.tokenJSON)])
        let client = Fixture.client(transport)
        let log = CallLog()
        client.onBudgetWait = { endpoint, waited in
            #expect(waited >= .zero)
            log.add(endpoint, "waited")
        }
        _ = try await client.refresh(refreshToken: "r")
        #expect(log.calls.map { "\($0.0):\($0.1)" } == ["token:waited", "token:waited"])
    }

    @Test func undecodableBodyIsReportedOnceAndNotRetried() async {
        let transport = RecordingTransport([.status(200, "{}"), .status(200, #"{"sub":"ser_1"}"#)])
        let client = Fixture.client(transport)
        let log = CallLog()
        client.onCall = { endpoint, outcome, _ in log.add(endpoint, outcome) }
        await #expect(throws: CronofyError.decoding("missing sub")) { try await client.userInfo(accessToken: "t") }
        #expect(transport.requests.count == 1)
        #expect(log.calls.map { "\($0.0):\($0.1)" } == ["userinfo:decoding"])
    }
}
