import ECDHTTPClient
import Foundation
import Testing
@testable import ECDCronofy

@Suite struct ErrorMappingTests {
    private static let noRetry = RetryPolicy(maxAttempts: 1)

    private func failure(_ reply: RecordingTransport.Reply) async -> CronofyError? {
        let client = Fixture.client(RecordingTransport([reply]), policy: Self.noRetry)
        do {
            _ = try await client.refresh(refreshToken: "refresh-token-not-in-any-fixture")
            return nil
        } catch {
            return error
        }
    }

    @Test func oauth400Errors() async {
        #expect(await failure(.status(400, #"{"error":"invalid_grant"}"#)) == .invalidGrant(description: nil))
        #expect(await failure(.status(400, #"{"error":"invalid_grant","error_description":"code unknown or used"}"#))
            == .invalidGrant(description: "code unknown or used"))
        #expect(await failure(.status(400, #"{"error":"invalid_client"}"#)) == .invalidClient)
        #expect(await failure(.status(400, #"{"error":"unsupported_grant_type","error_description":"nope"}"#))
            == .badRequest(error: "unsupported_grant_type", description: "nope"))
        #expect(await failure(.status(400, "Bad Request")) == .badRequest(error: "unreadable_error_body", description: nil))
    }

    @Test func statusErrors() async {
        #expect(await failure(.status(401)) == .unauthorized)
        #expect(await failure(.status(401, #"{"error":"invalid_client"}"#)) == .invalidClient)
        #expect(await failure(.status(403)) == .forbidden)
        #expect(await failure(.status(404, "<html>not found</html>")) == .notFound)
        #expect(await failure(.status(423)) == .locked)
        #expect(await failure(.status(500)) == .server(status: 500))
        #expect(await failure(.status(502)) == .server(status: 502))
        #expect(await failure(.status(504)) == .server(status: 504))
        #expect(await failure(.status(302)) == .unexpectedStatus(302))
        #expect(await failure(.status(402)) == .paymentRequired)
        #expect(await failure(.status(418)) == .unexpectedStatus(418))
    }

    @Test func unprocessableWithErrorsBody() async {
        let error = await failure(.status(422, """
            {"errors":{"email":[{"key":"errors.required","description":"required"}],
                       "callback_url":[{"key":"errors.invalid_url"},{"description":"no key"}]}}
            """))
        #expect(error == .unprocessable(errors: [
            "email": [.init(key: "errors.required", description: "required")],
            "callback_url": [.init(key: "errors.invalid_url"), .init(key: "unknown", description: "no key")],
        ]))
        #expect(error?.description == "Cronofy rejected the parameters (422): callback_url: errors.invalid_url, no key; email: required")
        #expect(await failure(.status(422, "oops")) == .unprocessable(errors: [:]))
    }

    @Test func rateLimitedWithRetryAfterSeconds() async {
        #expect(await failure(.status(429, headers: ["Retry-After": "7"])) == .rateLimited(retryAfter: .seconds(7)))
        #expect(await failure(.status(429)) == .rateLimited(retryAfter: nil))
        #expect(await failure(.status(429, headers: ["retry-after": "garbage"])) == .rateLimited(retryAfter: nil))
    }

    @Test func retryAfterFormats() {
        let now = Date(timeIntervalSince1970: 1_445_412_480)   // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(RetryAfter.parse("120", now: now) == .seconds(120))
        #expect(RetryAfter.parse(" 1.5 ", now: now) == .milliseconds(1500))
        #expect(RetryAfter.parse("0", now: now) == .zero)
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:28:30 GMT", now: now) == .seconds(30))
        #expect(RetryAfter.parse("Wednesday, 21-Oct-15 07:29:00 GMT", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Wed Oct 21 07:28:05 2015", now: now) == .seconds(5))
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:00:00 GMT", now: now) == .zero)   // already past
        #expect(RetryAfter.parse("soon", now: now) == nil)
    }

    /// The HTTP-date reader (no DateFormatter since the FoundationEssentials sweep): each form
    /// against a timestamp computed independently, leap days, two-digit years, and what it refuses.
    @Test func httpDateForms() {
        let now = Date(timeIntervalSince1970: 1_445_412_480)   // Wed, 21 Oct 2015 07:28:00 GMT
        let rfcExample = Date(timeIntervalSince1970: 784_111_777)   // RFC 9110's Sun, 06 Nov 1994 08:49:37 GMT
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == rfcExample)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == rfcExample)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994", now: now) == rfcExample)
        #expect(HTTPDate.parse("sun, 06 nov 1994 08:49:37 GMT", now: now) == rfcExample)
        #expect(HTTPDate.parse("Thu, 29 Feb 2024 23:59:59 GMT", now: now) == Date(timeIntervalSince1970: 1_709_251_199))
        #expect(HTTPDate.parse("Sat, 01 Jan 2000 00:00:00 GMT", now: now) == Date(timeIntervalSince1970: 946_684_800))
        // A two-digit year more than 50 years ahead is in the past century (RFC 9110 §5.6.7).
        #expect(HTTPDate.parse("Thursday, 01-Jan-70 00:00:00 GMT", now: now) == Date(timeIntervalSince1970: 0))
        #expect(HTTPDate.parse("Friday, 01-Jan-49 00:00:00 GMT", now: now) == Date(timeIntervalSince1970: 2_493_072_000))
        for refused in ["Fri, 29 Feb 2019 00:00:00 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 CET",
                        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
                        "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov  6 08:49 1994", "Xyz, 06 Nov 1994 08:49:37 GMT",
                        "Sun, +6 Nov 1994 08:49:37 GMT", "", "   "] {
            #expect(HTTPDate.parse(refused, now: now) == nil, "\(refused)")
        }
    }

    @Test func retryAfterHTTPDateThroughTheClient() async {
        // A minute ahead, so that whole-second truncation and a slow scheduler (seconds, on a loaded
        // machine) stay well inside the margin.
        let inAMinute = Date().addingTimeInterval(60)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let error = await failure(.status(429, headers: ["Retry-After": formatter.string(from: inAMinute)]))
        guard case .rateLimited(let after?) = error else {
            Issue.record("expected rateLimited with a delay, got \(String(describing: error))")
            return
        }
        #expect(after > .seconds(45) && after <= .seconds(60))
    }

    @Test func transportFailures() async {
        #expect(await failure(.failure(HTTPClientError.timedOut)) == .timeout)
        #expect(await failure(.failure(HTTPClientError.cannotConnect("api.cronofy.test"))) == .connectionFailed("connection refused"))
        #expect(await failure(.failure(HTTPClientError.hostNotFound("api.cronofy.test"))) == .connectionFailed("host not found"))
        #expect(await failure(.failure(HTTPClientError.connectionLost)) == .connectionFailed("connection lost"))
        #expect(await failure(.failure(CronofyError.timeout)) == .timeout)
    }

    @Test func transience() {
        let transient: [CronofyError] = [.rateLimited(retryAfter: nil), .server(status: 503), .timeout, .connectionFailed("x")]
        let permanent: [CronofyError] = [.invalidGrant(description: nil), .invalidClient, .badRequest(error: "e", description: nil),
                                         .unauthorized, .forbidden, .notFound, .unprocessable(errors: [:]), .locked,
                                         .unexpectedStatus(302), .decoding("x")]
        let transientFlags = transient.map(\.isTransient)
        let permanentFlags = permanent.map(\.isTransient)
        #expect(transientFlags == Array(repeating: true, count: transient.count))
        #expect(permanentFlags == Array(repeating: false, count: permanent.count))
    }

    @Test func serverTextIsCleaned() async {
        let long = String(repeating: "x", count: 500)
        let error = await failure(.status(400, #"{"error":"invalid_grant","error_description":"a\u0000b\nc\#(long)"}"#))
        guard case .invalidGrant(let detail?) = error else {
            Issue.record("expected invalidGrant with description")
            return
        }
        #expect(detail.hasPrefix("abc"))
        #expect(detail.count <= ResponseMapper.maxTextLength + 1)
        #expect(!detail.contains("\n"))
    }
}
