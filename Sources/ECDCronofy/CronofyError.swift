import FoundationEssentials
import ECDText

/// A failed Cronofy call. Descriptions never carry tokens, codes or secrets: server-provided text is
/// limited to the RFC 6749 `error`/`error_description` strings and 422 field errors, and those are
/// scrubbed of every credential that went into the request (see `ResponseMapper`).
public enum CronofyError: Error, Sendable, CustomStringConvertible {
    /// 400 `invalid_grant`: code unknown, expired or already used, `redirect_uri` mismatch, or a
    /// refresh token that was revoked.
    case invalidGrant(description: String?)
    /// 400/401 `invalid_client`: the client id/secret are not recognised.
    case invalidClient
    /// Any other 400 (RFC 6749 error code and optional description).
    case badRequest(error: String, description: String?)
    /// 401: the bearer token is not recognised (refresh, then retry once).
    case unauthorized
    /// 403: recognised but lacks the scope or privilege.
    case forbidden
    /// 402: the application's Cronofy plan does not include the feature (Enterprise Connect).
    case paymentRequired
    case notFound
    /// 422 `{"errors":{"<param>":[{"key","description"}]}}`.
    case unprocessable(errors: [String: [FieldError]])
    /// 423: the account is locked / not writable.
    case locked
    /// 429, with `Retry-After` when the server sent one.
    case rateLimited(retryAfter: Duration?)
    case server(status: Int)
    case timeout
    /// Could not reach Cronofy or the connection broke; the string says how (never a credential).
    case connectionFailed(String)
    case unexpectedStatus(Int)
    /// The response body did not have the expected shape; the string names the field, not values.
    case decoding(String)

    public struct FieldError: Sendable, Codable, Equatable {
        public var key: String
        public var description: String?

        public init(key: String, description: String? = nil) {
            self.key = key
            self.description = description
        }
    }

    /// Worth retrying later: 429, 5xx, timeouts and connection failures.
    public var isTransient: Bool {
        switch self {
        case .rateLimited, .server, .timeout, .connectionFailed: return true
        default: return false
        }
    }

    /// Short stable label for metrics and logs ("invalid_grant", "429", "5xx", ...).
    public var outcome: String {
        switch self {
        case .invalidGrant: return "invalid_grant"
        case .invalidClient: return "invalid_client"
        case .badRequest: return "bad_request"
        case .unauthorized: return "401"
        case .forbidden: return "403"
        case .paymentRequired: return "402"
        case .notFound: return "404"
        case .unprocessable: return "422"
        case .locked: return "423"
        case .rateLimited: return "429"
        case .server: return "5xx"
        case .timeout: return "timeout"
        case .connectionFailed: return "connection"
        case .unexpectedStatus: return "unexpected_status"
        case .decoding: return "decoding"
        }
    }

    public var description: String {
        switch self {
        case .invalidGrant(let detail):
            return "Cronofy rejected the grant (invalid_grant)" + Self.suffix(detail)
        case .invalidClient:
            return "Cronofy did not recognise the client credentials (invalid_client)"
        case .badRequest(let error, let detail):
            return "Cronofy rejected the request (\(error))" + Self.suffix(detail)
        case .unauthorized:
            return "Cronofy did not accept the access token (401)"
        case .forbidden:
            return "Cronofy refused access: insufficient scope or privileges (403)"
        case .paymentRequired:
            return "Cronofy refused: the application's plan does not include Enterprise Connect (402)"
        case .notFound:
            return "Cronofy resource not found (404)"
        case .unprocessable(let errors):
            let fields = errors.keys.sorted().map { field -> String in
                let items = errors[field, default: []].map { $0.description.map { "\($0)" } ?? $0.key }
                return "\(field): \(items.joined(separator: ", "))"
            }
            return "Cronofy rejected the parameters (422)"
                + (fields.isEmpty ? "" : ": " + fields.joined(separator: "; "))
        case .locked:
            return "Cronofy account is locked (423)"
        case .rateLimited(let retryAfter):
            return "Cronofy rate limit reached (429)"
                + (retryAfter.map { ", retry after \(Self.seconds($0)) s" } ?? "")
        case .server(let status):
            return "Cronofy server error (\(status))"
        case .timeout:
            return "Cronofy did not answer in time"
        case .connectionFailed(let how):
            return "could not reach Cronofy: \(how)"
        case .unexpectedStatus(let status):
            return "unexpected HTTP status \(status) from Cronofy"
        case .decoding(let what):
            return "unexpected response from Cronofy: \(what)"
        }
    }

    private static func suffix(_ detail: String?) -> String {
        guard let detail, !detail.isEmpty else { return "" }
        return ": \(detail)"
    }

    private static func seconds(_ duration: Duration) -> String {
        let value = duration.timeInterval
        return value == value.rounded() ? String(Int(value)) : value.fixed(decimals: 1)
    }
}

extension CronofyError: Equatable {
    public static func == (lhs: CronofyError, rhs: CronofyError) -> Bool {
        switch (lhs, rhs) {
        case let (.invalidGrant(a), .invalidGrant(b)): return a == b
        case (.invalidClient, .invalidClient), (.unauthorized, .unauthorized), (.forbidden, .forbidden),
             (.paymentRequired, .paymentRequired),
             (.notFound, .notFound), (.locked, .locked), (.timeout, .timeout):
            return true
        case let (.badRequest(e1, d1), .badRequest(e2, d2)): return e1 == e2 && d1 == d2
        case let (.unprocessable(a), .unprocessable(b)): return a == b
        case let (.rateLimited(a), .rateLimited(b)): return a == b
        case let (.server(a), .server(b)): return a == b
        case let (.connectionFailed(a), .connectionFailed(b)): return a == b
        case let (.unexpectedStatus(a), .unexpectedStatus(b)): return a == b
        case let (.decoding(a), .decoding(b)): return a == b
        default: return false
        }
    }
}
