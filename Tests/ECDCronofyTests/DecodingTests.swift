import Foundation
import Testing
@testable import ECDCronofy

/// The documented response shapes (fixtures copied from the API reference) and tolerance of
/// unknown or missing keys.
@Suite struct DecodingTests {
    private func client(_ json: String) -> CronofyClient { Fixture.client(RecordingTransport(status: 200, json: json)) }

    @Test func serviceAccountToken() async throws {
        let token = try await client("""
            {"token_type":"bearer","access_token":"P531x88i05Ld2yXHIQ7WjiEyqlmOHsgI","expires_in":1800,
             "refresh_token":"3gBYG1XamYDUEXUyybbummQWEe5YqPmf","scope":"service_account/accounts/manage",
             "service_account_id":"ser_529716002600402"}
            """).exchangeCode("c", redirectURI: "r")
        #expect(token == TokenResponse(tokenType: "bearer", accessToken: "P531x88i05Ld2yXHIQ7WjiEyqlmOHsgI", expiresIn: 1800,
                                       refreshToken: "3gBYG1XamYDUEXUyybbummQWEe5YqPmf",
                                       scope: "service_account/accounts/manage", serviceAccountID: "ser_529716002600402"))
        #expect(!token.description.contains("P531x88i05Ld2yXHIQ7WjiEyqlmOHsgI"))
        #expect(!token.description.contains("3gBYG1XamYDUEXUyybbummQWEe5YqPmf"))
    }

    @Test func delegatedAccountTokenWithLinkingProfileAndUnknownKeys() async throws {
        let token = try await client("""
            {"token_type":"bearer","access_token":"P531x88i05Ld2yXHIQ7WjiEyqlmOHsgI","expires_in":3600,
             "refresh_token":"3gBYG1XamYDUEXUyybbummQWEe5YqPmf","scope":"create_event delete_event",
             "account_id":"acc_5ba21743f408617d1269ea1e","sub":"acc_5ba21743f408617d1269ea1e",
             "linking_profile":{"provider_name":"google","provider_service":"gsuite","profile_id":"pro_n23kjnwrw2",
                                "profile_name":"example@cronofy.com"},
             "userinfo":{"sub":"acc_5ba21743f408617d1269ea1e","cronofy.type":"account"},
             "some_future_field":[1,2,3]}
            """).exchangeCode("c", redirectURI: "r", sendCallbackURL: true)
        #expect(token.expiresIn == 3600)
        #expect(token.accountID == "acc_5ba21743f408617d1269ea1e")
        #expect(token.sub == "acc_5ba21743f408617d1269ea1e")
        #expect(token.serviceAccountID == nil)
        #expect(token.linkingProfile == LinkingProfile(providerName: "google", profileID: "pro_n23kjnwrw2",
                                                       profileName: "example@cronofy.com", providerService: "gsuite"))
    }

    @Test func refreshTokenResponseWithoutOptionalKeys() async throws {
        let token = try await client(#"{"access_token":"a","expires_in":"1800"}"#).refresh(refreshToken: "r")
        #expect(token == TokenResponse(tokenType: "bearer", accessToken: "a", expiresIn: 1800))
    }

    @Test func tokenWithoutAccessTokenIsADecodingError() async {
        await #expect(throws: CronofyError.decoding("missing access_token")) {
            try await client(#"{"token_type":"bearer","expires_in":1800}"#).refresh(refreshToken: "r")
        }
        await #expect(throws: CronofyError.decoding("body is not valid JSON")) {
            try await client("<html>").refresh(refreshToken: "r")
        }
        await #expect(throws: CronofyError.decoding("wrong type at expires_in")) {
            try await client(#"{"access_token":"a","expires_in":"soon"}"#).refresh(refreshToken: "r")
        }
    }

    @Test func userInfoNestedServiceAccountShape() async throws {
        let info = try await client("""
            {"sub":"ser_61a8b807a341fc00bee53042","cronofy.type":"service_account",
             "cronofy.data":{"service_account":{"provider_name":"exchange","domain":"example.org"},
                             "authorization":{"scope":"service_account/accounts/manage service_account/resources/manage",
                                              "status":"active","delegated_scope":"read_write"}},
             "email":"exchange-service-account@example.org"}
            """).userInfo(accessToken: "t")
        #expect(info == UserInfo(sub: "ser_61a8b807a341fc00bee53042", email: "exchange-service-account@example.org",
                                 type: "service_account", providerName: "exchange", domain: "example.org",
                                 scope: "service_account/accounts/manage service_account/resources/manage",
                                 delegatedScope: "read_write", status: "active"))
    }

    @Test func userInfoLegacyFlatServiceAccountShape() async throws {
        let info = try await client("""
            {"sub":"ser_5700a00eb0ccd07000000000","cronofy.type":"service_account",
             "cronofy.service_account.domain":"example.com","cronofy.service_account.email":"svc@example.com"}
            """).userInfo(accessToken: "t")
        #expect(info == UserInfo(sub: "ser_5700a00eb0ccd07000000000", email: "svc@example.com",
                                 type: "service_account", domain: "example.com"))
    }

    @Test func userInfoAccountShape() async throws {
        let info = try await client("""
            {"sub":"acc_5700a00eb0ccd07000000000","email":"janed@company.com","name":"Jane Doe","zoneinfo":"Europe/London",
             "cronofy.type":"account",
             "cronofy.data":{"authorization":{"scope":"read_write","status":"active"},
               "profiles":[{"provider_name":"google","provider_service":"gsuite","profile_id":"pro_n23kjnwrw2",
                 "profile_name":"example1@cronofy.com","profile_connected":true,"profile_initial_sync_required":true,
                 "profile_calendars":[{"calendar_id":"cal_n23kjnwrw2_jsdfjksn234","calendar_name":"Home",
                   "calendar_readonly":false,"calendar_primary":true,"permission_level":"sandbox"}]}],
               "conferencing_profiles":[{"provider_name":"zoom","profile_id":"pro_jknsdfk234"}]}}
            """).userInfo(accessToken: "t")
        #expect(info == UserInfo(sub: "acc_5700a00eb0ccd07000000000", email: "janed@company.com", type: "account",
                                 providerName: "google", scope: "read_write", status: "active"))
    }

    @Test func userInfoSurvivesMalformedOptionalBlocks() async throws {
        let info = try await client(#"{"sub":"ser_1","cronofy.data":"weird","email":42}"#).userInfo(accessToken: "t")
        #expect(info == UserInfo(sub: "ser_1"))
        await #expect(throws: CronofyError.decoding("missing sub")) {
            try await client(#"{"email":"x@y"}"#).userInfo(accessToken: "t")
        }
    }

    @Test func resources() async throws {
        let list = try await client("""
            {"resources":[{"email":"board-room-london@example.com","name":"Board room (London)"},
                          {"email":"board-room-madrid@example.com","name":"Board room (Madrid)","capacity":12,
                           "location":{"building_name":"HQ","coordinates":{"lat":1.5,"long":2.5}}},
                          {"name":"no email, cannot be authorized"},
                          {"email":"van@example.com"}]}
            """).resources(accessToken: "t")
        #expect(list == [
            Resource(email: "board-room-london@example.com", name: "Board room (London)"),
            Resource(email: "board-room-madrid@example.com", name: "Board room (Madrid)"),
            Resource(email: "van@example.com", name: "van@example.com"),
        ])
        #expect(try await client("{}").resources(accessToken: "t") == [])
    }
}
