import ECDHTTPClient
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
            .failure(HTTPClientError.timedOut),
            .failure(HTTPClientError.cannotConnect("api.cronofy.test")),
        ]
    }

    /// What running one call against each scripted reply gave: the texts of every error, how
    /// many replies ended in a `CronofyError`, and how many requests reached the transport.
    struct Collected {
        var texts: [String] = []
        var errors = 0
        var requests = 0
    }

    private static func collect(_ body: @escaping @Sendable (CronofyClient) async throws -> Void,
                                replies: [RecordingTransport.Reply]) async -> Collected {
        var collected = Collected()
        for reply in replies {
            let transport = RecordingTransport([reply])
            let client = Fixture.client(transport, policy: RetryPolicy(maxAttempts: 1))
            do {
                try await body(client)
            } catch {
                guard let error = error as? CronofyError else {
                    Issue.record("not a CronofyError: \(type(of: error))")
                    continue
                }
                collected.errors += 1
                collected.texts.append(error.description)
                collected.texts.append(String(describing: error))
                collected.texts.append(String(reflecting: error))
                collected.texts.append("\(error.localizedDescription)")
            }
            collected.requests += transport.requests.count
        }
        return collected
    }

    /// Every reply of `echo` is an error for these calls: the three 200s carry bodies that do not
    /// decode as their answer.
    @Test func exchangeCodeErrorsNeverRevealCodeOrSecret() async {
        let replies = Self.echo(Self.code)
        let collected = await Self.collect({ _ = try await $0.exchangeCode(Self.code, redirectURI: "https://r") }, replies: replies)
        #expect(collected.requests == replies.count)
        #expect(collected.errors == replies.count)
        #expect(collected.texts.count == 4 * replies.count)
        for text in collected.texts {
            #expect(!text.contains(Self.code), "leaked code: \(text)")
            #expect(!text.contains(Fixture.clientSecret), "leaked secret: \(text)")
        }
    }

    @Test func refreshErrorsNeverRevealTokenOrSecret() async {
        let replies = Self.echo(Self.refreshToken)
        let collected = await Self.collect({ _ = try await $0.refresh(refreshToken: Self.refreshToken) }, replies: replies)
        #expect(collected.requests == replies.count)
        #expect(collected.errors == replies.count)
        #expect(collected.texts.count == 4 * replies.count)
        for text in collected.texts {
            #expect(!text.contains(Self.refreshToken), "leaked token: \(text)")
            #expect(!text.contains(Fixture.clientSecret), "leaked secret: \(text)")
        }
    }

    /// Each bearer call with the number of `echo`'s replies that must end in an error for it.
    /// Some 200s are answers there: revoke and the authorization request ignore any 2xx body, and
    /// a JSON object without a `resources` list is an empty list of resources.
    @Test func bearerCallErrorsNeverRevealTheAccessToken() async {
        let calls: [(name: String, errors: Int, call: @Sendable (CronofyClient) async throws -> Void)] = [
            ("userinfo", 10, { _ = try await $0.userInfo(accessToken: Self.accessToken) }),
            ("resources", 8, { _ = try await $0.resources(accessToken: Self.accessToken) }),
            ("revoke", 7, { try await $0.revoke(token: Self.accessToken) }),
            ("authorize", 7, { try await $0.authorizeWithServiceAccount(
                accessToken: Self.accessToken,
                requests: [DelegatedAccessRequest(email: "e@x", callbackURL: "https://c", scope: "s", state: "x")]) }),
        ]
        let replies = Self.echo(Self.accessToken)
        var requests = 0
        for (name, errors, call) in calls {
            let collected = await Self.collect(call, replies: replies)
            #expect(collected.requests == replies.count, "\(name)")
            #expect(collected.errors == errors, "\(name)")
            #expect(collected.texts.count == 4 * errors, "\(name)")
            for text in collected.texts {
                #expect(!text.contains(Self.accessToken), "\(name) leaked token: \(text)")
                #expect(!text.contains(Fixture.clientSecret), "\(name) leaked secret: \(text)")
            }
            requests += collected.requests
        }
        #expect(requests == calls.count * replies.count)
    }
}
