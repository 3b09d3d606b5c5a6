import ECDCore
import Foundation
import Testing

@Suite("Models encode exactly as api-contract.md §4/§5 print them")
struct ModelCodingTests {
    let at = Date(timeIntervalSince1970: 1_795_946_400)   // 2026-11-29T10:00:00Z

    func json(_ value: some Encodable) throws -> [String: Any] {
        let data = try JSONEncoder.ecd().encode(value)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func iso8601RoundTripsWholeSeconds() throws {
        #expect(ISO8601.string(from: at) == "2026-11-29T10:00:00Z")
        #expect(ISO8601.string(from: at.addingTimeInterval(0.9)) == "2026-11-29T10:00:00Z")
        #expect(ISO8601.date(from: "2026-11-29T10:00:00Z") == at)
        #expect(ISO8601.date(from: "2026-11-29T10:00:00.500Z") == at.addingTimeInterval(0.5))
        #expect(ISO8601.date(from: "2026-11-29 10:00:00Z") == nil)
        #expect(ISO8601.date(from: "2026-13-29T10:00:00Z") == nil)
    }

    @Test func accountWritesNullsForAbsentValues() throws {
        let account = Account(email: "a@example.com", serviceAccountID: "ser_1", status: .pending,
                              scope: "read_events", accountID: nil, sub: nil, profile: nil, error: nil,
                              requestedAt: at, authorizedAt: nil, tokenExpiresAt: nil, updatedAt: at)
        let object = try json(account)
        #expect(Set(object.keys) == ["email", "service_account_id", "status", "scope", "account_id", "sub", "profile",
                                     "error", "requested_at", "authorized_at", "token_expires_at", "updated_at", "revocation", "renewal"])
        #expect(object["profile"] is NSNull)
        #expect(object["error"] is NSNull)
        #expect(object["requested_at"] as? String == "2026-11-29T10:00:00Z")
        #expect(object["status"] as? String == "pending")
    }

    @Test func accountErrorAndProfileShapes() throws {
        var account = Account(email: "a@example.com", serviceAccountID: nil, status: .failed, scope: "x",
                              accountID: "acc_1", sub: "acc_1",
                              profile: AccountProfile(providerName: "google", profileID: "pro_1", profileName: "a@example.com"),
                              error: AccountError(error: "unable_to_grant_scope", errorKey: nil, errorDescription: "no"),
                              requestedAt: nil, authorizedAt: nil, tokenExpiresAt: nil, updatedAt: at)
        account.status = .reauthorizationRequired
        let object = try json(account)
        #expect(object["status"] as? String == "reauthorization_required")
        let profile = try #require(object["profile"] as? [String: Any])
        #expect(profile["provider_name"] as? String == "google")
        #expect(profile["profile_id"] as? String == "pro_1")
        let error = try #require(object["error"] as? [String: Any])
        #expect(error["error"] as? String == "unable_to_grant_scope")
        #expect(error["error_key"] is NSNull)
        #expect(error["error_description"] as? String == "no")
        let decoded = try JSONDecoder.ecd().decode(Account.self, from: try JSONEncoder.ecd().encode(account))
        #expect(decoded == account)
    }

    @Test func serviceAccountShape() throws {
        let account = ServiceAccount(id: "ser_1", email: "sa@example.com", domain: "example.com", provider: "google",
                                     label: nil, status: .reauthorizationRequired, scope: "service_account/accounts/manage",
                                     delegatedScope: "read_events", connectedAt: at, updatedAt: at)
        let object = try json(account)
        #expect(Set(object.keys) == ["id", "email", "domain", "provider", "label", "status", "scope", "delegated_scope",
                                     "connected_at", "updated_at", "revocation"])
        #expect(object["label"] is NSNull)
        #expect(object["status"] as? String == "reauthorization_required")
        #expect(object["connected_at"] as? String == "2026-11-29T10:00:00Z")
    }

    @Test func tokenObjectByEncoderAndByHand() throws {
        let token = AccessToken(accessToken: "tok\"en", expiresAt: at, scope: "read_events", accountID: "acc_1",
                                sub: nil, apiURL: "http://127.0.0.1:9000")
        let now = at.addingTimeInterval(-120.5)
        let manual = try #require(try JSONSerialization.jsonObject(with: Data(token.jsonBytes(now: now))) as? [String: Any])
        #expect(manual["access_token"] as? String == "tok\"en")
        #expect(manual["token_type"] as? String == "bearer")
        #expect(manual["expires_at"] as? String == "2026-11-29T10:00:00Z")
        #expect(manual["expires_in"] as? Int == 120)
        #expect(manual["sub"] is NSNull)
        #expect(manual["api_url"] as? String == "http://127.0.0.1:9000")
        #expect(Set(manual.keys) == ["access_token", "token_type", "expires_at", "expires_in", "scope", "account_id", "sub", "api_url"])
        let encoded = try json(token)
        #expect(Set(encoded.keys) == Set(manual.keys))
        #expect(token.expiresIn(now: at.addingTimeInterval(10)) == 0)
    }

    @Test func eventOmitsAbsentSubjectsAndCarriesData() throws {
        let event = Event(id: 7, type: .accountFailed, at: at, serviceAccountID: nil, email: "a@example.com",
                          data: ["error": "callback_timeout", "count": 2])
        let object = try json(event)
        #expect(object["service_account_id"] == nil)
        #expect(object["type"] as? String == "account.failed")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["error"] as? String == "callback_timeout")
        #expect(data["count"] as? Int == 2)
        let page = try json(EventPage(events: [event], nextAfter: 7))
        #expect(page["next_after"] as? Int == 7)
        let accounts = try json(AccountPage(accounts: [], next: nil))
        #expect(accounts["next"] is NSNull)
    }

    @Test func connectLinkShape() throws {
        let object = try json(ConnectLink(url: "https://ecd.example.com/connect/abc", expiresAt: at))
        #expect(object["url"] as? String == "https://ecd.example.com/connect/abc")
        #expect(object["expires_at"] as? String == "2026-11-29T10:00:00Z")
    }
}
