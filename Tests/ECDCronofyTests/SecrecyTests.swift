import Foundation
import Testing
@testable import ECDCronofy

/// No error description may contain the client secret, a code or a token, even when the server
/// echoes them back in its error text.
@Suite struct SecrecyTests {
    static let code = "CODEcodeCODEcodeCODEcodeCODEcode"
    static let refreshToken = "RTrtRTrtRTrtRTrtRTrtRTrtRTrtRTrt"
    static let accessToken = "ATatATatATatATatATatATatATatATat"

    static func echo(_ value: String) -> [RecordingTransport.Reply] {
        [
            .status(400, #"{"error":"invalid_grant","error_description":"bad \#(value) and \#(Fixture.clientSecret)"}"#),
            .status(400, #"{"error":"\#(value)","error_description":"\#(Fixture.clientSecret)"}"#),
            .status(422, #"{"errors":{"\#(value)":[{"key":"\#(value)","description":"\#(Fixture.clientSecret) \#(value)"}]}}"#),
            .status(401, #"{"error":"\#(value)"}"#),
            .status(500, #"{"message":"\#(value)"}"#),
            .status(200, #"{"access_token":"\#(value)","expires_in":"\#(value)"}"#),
            .status(200, #"{"sub":7,"\#(value)":"\#(value)"}"#),
            .status(200, "\(value) is not JSON"),
            .failure(URLError(.timedOut)),
            .failure(URLError(.cannotConnectToHost)),
        ]
    }

    private static func collect(_ body: @escaping @Sendable (CronofyClient) async throws -> Void,
                                replies: [RecordingTransport.Reply]) async -> [String] {
        var descriptions: [String] = []
        for reply in replies {
            let client = Fixture.client(RecordingTransport([reply]), policy: RetryPolicy(maxAttempts: 1))
            do {
                try await body(client)
            } catch {
                guard let error = error as? CronofyError else {
                    Issue.record("not a CronofyError: \(type(of: error))")
                    continue
                }
                descriptions.append(error.description)
                descriptions.append(String(describing: error))
                descriptions.append(String(reflecting: error))
                descriptions.append("\(error.localizedDescription)")
            }
        }
        return descriptions
    }

    @Test func exchangeCodeErrorsNeverRevealCodeOrSecret() async {
        let texts = await Self.collect({ _ = try await $0.exchangeCode(Self.code, redirectURI: "https://r") }, replies: Self.echo(Self.code))
        #expect(texts.count >= 30)
        for text in texts {
            #expect(!text.contains(Self.code), "leaked code: \(text)")
            #expect(!text.contains(Fixture.clientSecret), "leaked secret: \(text)")
        }
    }

    @Test func refreshErrorsNeverRevealTokenOrSecret() async {
        let texts = await Self.collect({ _ = try await $0.refresh(refreshToken: Self.refreshToken) }, replies: Self.echo(Self.refreshToken))
        for text in texts {
            #expect(!text.contains(Self.refreshToken), "leaked token: \(text)")
            #expect(!text.contains(Fixture.clientSecret), "leaked secret: \(text)")
        }
    }

    @Test func bearerCallErrorsNeverRevealTheAccessToken() async {
        let calls: [@Sendable (CronofyClient) async throws -> Void] = [
            { _ = try await $0.userInfo(accessToken: Self.accessToken) },
            { _ = try await $0.resources(accessToken: Self.accessToken) },
            { try await $0.revoke(token: Self.accessToken) },
            { try await $0.authorizeWithServiceAccount(
                accessToken: Self.accessToken,
                requests: [DelegatedAccessRequest(email: "e@x", callbackURL: "https://c", scope: "s", state: "x")]) },
        ]
        for call in calls {
            for text in await Self.collect(call, replies: Self.echo(Self.accessToken)) {
                #expect(!text.contains(Self.accessToken), "leaked token: \(text)")
                #expect(!text.contains(Fixture.clientSecret), "leaked secret: \(text)")
            }
        }
    }
}
