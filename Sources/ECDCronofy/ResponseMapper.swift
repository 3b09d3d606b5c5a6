import ECDHTTPClient
import FoundationEssentials
import ECDText

/// Turns non-2xx responses and transport failures into `CronofyError`s.
///
/// Server-provided strings are the only text that reaches an error description, so they are
/// cleaned here: control characters dropped, length capped, and every credential that went into
/// the request (`secrets`) replaced by `[redacted]` in case a server echoes it back.
struct ResponseMapper {
    /// Values that must never appear in an error: client secret, codes, tokens of the request.
    var secrets: [String]
    var now: @Sendable () -> Date = { Date() }

    static let maxTextLength = 200

    func error(for response: TransportResponse) -> CronofyError {
        switch response.status {
        case 400: return oauthError(response.body, status: 400)
        case 401:
            // Token endpoints answer bad client credentials with 401 + invalid_client too.
            if let body = decodeOAuthError(response.body), body.error == "invalid_client" { return .invalidClient }
            return .unauthorized
        case 402: return .paymentRequired
        case 403: return .forbidden
        case 404: return .notFound
        case 422: return .unprocessable(errors: fieldErrors(response.body))
        case 423: return .locked
        case 429: return .rateLimited(retryAfter: response.headers["retry-after"].flatMap { RetryAfter.parse($0, now: now()) })
        case 500...599: return .server(status: response.status)
        default: return .unexpectedStatus(response.status)
        }
    }

    private func oauthError(_ body: [UInt8], status: Int) -> CronofyError {
        guard let parsed = decodeOAuthError(body) else {
            return .badRequest(error: "unreadable_error_body", description: nil)
        }
        let detail = parsed.errorDescription.map(clean)
        switch parsed.error {
        case "invalid_grant": return .invalidGrant(description: detail)
        case "invalid_client": return .invalidClient
        default: return .badRequest(error: clean(parsed.error), description: detail)
        }
    }

    private struct OAuthErrorBody: Decodable {
        var error: String
        var errorDescription: String?
        enum CodingKeys: String, CodingKey { case error, errorDescription = "error_description" }
    }

    private func decodeOAuthError(_ body: [UInt8]) -> OAuthErrorBody? {
        try? JSONDecoder().decode(OAuthErrorBody.self, from: Data(body))
    }

    private struct UnprocessableBody: Decodable {
        var errors: [String: [LenientFieldError]]
    }

    /// A field error whose `key` may be missing without losing its siblings.
    private struct LenientFieldError: Decodable {
        var key: String?
        var description: String?
    }

    private func fieldErrors(_ body: [UInt8]) -> [String: [CronofyError.FieldError]] {
        guard let parsed = try? JSONDecoder().decode(UnprocessableBody.self, from: Data(body)) else { return [:] }
        var result: [String: [CronofyError.FieldError]] = [:]
        for (field, items) in parsed.errors {
            result[clean(field)] = items.map {
                CronofyError.FieldError(key: clean($0.key ?? "unknown"), description: $0.description.map(clean))
            }
        }
        return result
    }

    /// Removes credentials, control characters and excess length from server-provided text.
    func clean(_ text: String) -> String {
        var result = text
        for secret in secrets where !secret.isEmpty {
            result = result.replacingAll(secret, with: "[redacted]")
        }
        // Control and format characters (Cc, Cf: what `CharacterSet.controlCharacters` held).
        result = String(String.UnicodeScalarView(result.unicodeScalars.filter {
            $0.properties.generalCategory != .control && $0.properties.generalCategory != .format
        }))
        if result.count > Self.maxTextLength { result = String(result.prefix(Self.maxTextLength)) + "…" }
        return result
    }

    /// Maps what a transport threw. `mayHaveReachedServer` is false only when the request
    /// certainly never left (DNS failure, connection refused): only then is it safe to repeat a
    /// non-idempotent call such as an authorization-code exchange.
    static func transportFailure(_ error: any Error) -> (error: CronofyError, mayHaveReachedServer: Bool) {
        if let error = error as? CronofyError { return (error, error != .timeout) }
        guard let failure = error as? HTTPClientError else {
            if error is CancellationError { return (.connectionFailed("cancelled"), true) }
            return (.connectionFailed("transport error"), true)
        }
        let mapped: CronofyError = switch failure {
        case .timedOut: .timeout
        case .cannotConnect: .connectionFailed("connection refused")
        case .hostNotFound: .connectionFailed("host not found")
        case .connectionLost: .connectionFailed("connection lost")
        case .tls: .connectionFailed("TLS handshake failed")
        case .cancelled: .connectionFailed("cancelled")
        case .malformedResponse, .responseTooLarge: .connectionFailed("malformed HTTP response")
        case .invalidRequest: .connectionFailed("invalid request")
        }
        return (mapped, failure.mayHaveReachedServer)
    }
}

/// `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
enum RetryAfter {
    static func parse(_ value: String, now: Date) -> Duration? {
        let trimmed = value.trimmingSpaces()
        if let seconds = Double(trimmed), seconds.isFinite {
            return seconds <= 0 ? .zero : .milliseconds(Int64((seconds * 1000).rounded()))
        }
        guard let date = HTTPDate.parse(trimmed, now: now) else { return nil }
        let delta = date.timeIntervalSince(now)
        return delta <= 0 ? .zero : .milliseconds(Int64((delta * 1000).rounded()))
    }
}
