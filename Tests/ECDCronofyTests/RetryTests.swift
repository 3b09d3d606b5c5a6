import ECDHTTPClient
import Foundation
import Testing
@testable import ECDCronofy

@Suite struct RetryTests {
    static let token = #"{"access_token":"a","expires_in":1800}"#

    @Test func transientFailuresAreRetriedWithBackoff() async throws {
        // userinfo: idempotent, so a timeout is retried too (a refresh's is not: refreshWhoseAnswerWasLostIsNotRetried).
        let transport = RecordingTransport([.status(503), .failure(HTTPClientError.timedOut), .status(200, #"{"sub":"ser_1"}"#)])
        let sleeper = SleepRecorder()
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(10))
        let info = try await Fixture.client(transport, policy: policy, sleeper: sleeper, jitter: 1.0).userInfo(accessToken: "t")
        #expect(info.sub == "ser_1")
        #expect(transport.requests.count == 3)
        // Full jitter at its upper bound: base · 2^(n-1).
        #expect(sleeper.delays == [.milliseconds(100), .milliseconds(200)])
    }

    @Test func attemptsAreCapped() async {
        let transport = RecordingTransport([.status(500), .status(502), .status(503), .status(200, Self.token)])
        let sleeper = SleepRecorder()
        let client = Fixture.client(transport, policy: RetryPolicy(maxAttempts: 3), sleeper: sleeper)
        await #expect(throws: CronofyError.server(status: 503)) { try await client.refresh(refreshToken: "r") }
        #expect(transport.requests.count == 3)
        #expect(sleeper.delays.count == 2)
    }

    @Test(arguments: [
        RecordingTransport.Reply.status(400, #"{"error":"invalid_grant"}"#), .status(401), .status(403), .status(404),
        .status(422, #"{"errors":{}}"#), .status(423), .status(302),
    ])
    func nonTransientFailuresAreNotRetried(reply: RecordingTransport.Reply) async {
        let transport = RecordingTransport([reply, .status(200, Self.token)])
        let sleeper = SleepRecorder()
        await #expect(throws: CronofyError.self) {
            try await Fixture.client(transport, sleeper: sleeper).refresh(refreshToken: "r")
        }
        #expect(transport.requests.count == 1)
        #expect(sleeper.delays.isEmpty)
    }

    @Test func retryAfterIsHonouredAndCapped() async throws {
        let transport = RecordingTransport([
            .status(429, headers: ["Retry-After": "3"]), .status(429, headers: ["Retry-After": "3600"]), .status(202),
        ])
        let sleeper = SleepRecorder()
        var policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .seconds(5))
        policy.maxPenalty = .milliseconds(1)   // keep the shared-budget hold-back out of this test
        try await Fixture.client(transport, policy: policy, sleeper: sleeper, jitter: 0)
            .authorizeWithServiceAccount(accessToken: "t", requests: [DelegatedAccessRequest(email: "e", callbackURL: "c", scope: "s", state: "x")])
        #expect(sleeper.delays == [.seconds(3), .seconds(5)])
    }

    @Test func jitterIsWithinTheExponentialCeiling() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(200), maxDelay: .seconds(2))
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, unit: 0) == .zero)
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, unit: 0.5) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, unit: 1) == .milliseconds(800))
        #expect(policy.delay(afterAttempt: 9, retryAfter: nil, unit: 1) == .seconds(2))
        #expect(policy.delay(afterAttempt: 60, retryAfter: nil, unit: 1) == .seconds(2))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(1), unit: 0) == .seconds(1))
        for _ in 0..<100 {
            let delay = policy.delay(afterAttempt: 2, retryAfter: nil, unit: Double.random(in: 0...1))
            #expect(delay >= .zero && delay <= .milliseconds(400))
        }
    }

    @Test func authorizationCodeTimeoutIsNotRetried() async {
        let transport = RecordingTransport([.failure(HTTPClientError.timedOut), .status(200, Self.token)])
        let sleeper = SleepRecorder()
        await #expect(throws: CronofyError.timeout) {
            try await Fixture.client(transport, sleeper: sleeper).exchangeCode("code", redirectURI: "r")
        }
        #expect(transport.requests.count == 1)
        // A dropped connection is just as ambiguous.
        let dropped = RecordingTransport([.failure(HTTPClientError.connectionLost), .status(200, Self.token)])
        await #expect(throws: CronofyError.connectionFailed("connection lost")) {
            try await Fixture.client(dropped).exchangeCode("code", redirectURI: "r")
        }
        #expect(dropped.requests.count == 1)
    }

    /// Issue 11 item 1: a refresh whose answer was lost may have rotated the refresh token, so
    /// repeating it would spend the old one (invalid_grant for a live grant).
    @Test func refreshWhoseAnswerWasLostIsNotRetried() async throws {
        let transport = RecordingTransport([.failure(HTTPClientError.timedOut), .status(200, Self.token)])
        await #expect(throws: CronofyError.timeout) {
            try await Fixture.client(transport).refresh(refreshToken: "r")
        }
        #expect(transport.requests.count == 1)
        let dropped = RecordingTransport([.failure(HTTPClientError.connectionLost), .status(200, Self.token)])
        await #expect(throws: CronofyError.connectionFailed("connection lost")) {
            try await Fixture.client(dropped).refresh(refreshToken: "r")
        }
        #expect(dropped.requests.count == 1)
        // Answers that prove Cronofy did not act are still retried.
        let refused = RecordingTransport([.failure(HTTPClientError.cannotConnect("api.cronofy.test")), .status(503), .status(200, Self.token)])
        #expect(try await Fixture.client(refused, policy: RetryPolicy(maxAttempts: 3)).refresh(refreshToken: "r").accessToken == "a")
        #expect(refused.requests.count == 3)
    }

    @Test func authorizationCodeIsRetriedWhenItCannotHaveBeenSpent() async throws {
        let transport = RecordingTransport([
            .failure(HTTPClientError.cannotConnect("api.cronofy.test")), .status(503), .status(429), .status(200, Self.token),
        ])
        let token = try await Fixture.client(transport, policy: RetryPolicy(maxAttempts: 4)).exchangeCode("code", redirectURI: "r")
        #expect(token.accessToken == "a")
        #expect(transport.requests.count == 4)
    }

    @Test func timeoutIsRetriedForIdempotentCalls() async throws {
        let transport = RecordingTransport([.failure(HTTPClientError.timedOut), .status(200, #"{"sub":"ser_1"}"#)])
        #expect(try await Fixture.client(transport).userInfo(accessToken: "t").sub == "ser_1")
        #expect(transport.requests.count == 2)
    }

    @Test func rateLimitPenalizesTheSharedBudget() async throws {
        let budget = RequestBudget(requestsPerMinute: 600_000, burst: 1000)
        let transport = RecordingTransport([.status(429, headers: ["Retry-After": "0.2"]), .status(200, Self.token)])
        let client = CronofyClient(configuration: Fixture.configuration(), transport: transport, budget: budget,
                                   retryPolicy: RetryPolicy(maxAttempts: 2), sleep: { _ in }, random: { 0 })
        let start = ContinuousClock.now
        _ = try await client.refresh(refreshToken: "r")
        // The retry itself slept zero (injected), so only the budget's penalty held it back.
        #expect(ContinuousClock.now - start >= .milliseconds(190))
    }
}
