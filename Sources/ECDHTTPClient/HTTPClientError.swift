/// Why an exchange of `HTTPClient` failed. The description never carries request data (headers,
/// bodies, query strings may hold credentials): only the host, and what went wrong.
public enum HTTPClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The URL has no host, or a scheme other than http/https; or a header holds CR/LF.
    case invalidRequest(String)
    /// The name did not resolve.
    case hostNotFound(String)
    /// No connection could be opened (refused, unreachable).
    case cannotConnect(String)
    /// The TLS handshake failed or the certificate was refused (untrusted, wrong name, expired).
    case tls(String)
    /// The whole exchange did not finish within its timeout.
    case timedOut
    /// The calling task was cancelled (or the client closed).
    case cancelled
    /// The connection ended before a complete response (reset, or closed mid-response).
    case connectionLost
    /// The response is not HTTP/1.x as RFC 9112 frames it.
    case malformedResponse(String)
    /// The response's head or body is larger than the client accepts.
    case responseTooLarge

    public var description: String {
        switch self {
        case .invalidRequest(let why): "invalid request: \(why)"
        case .hostNotFound(let host): "host not found: \(host)"
        case .cannotConnect(let host): "cannot connect to \(host)"
        case .tls(let why): "TLS failed: \(why)"
        case .timedOut: "timed out"
        case .cancelled: "cancelled"
        case .connectionLost: "connection lost before a complete response"
        case .malformedResponse(let why): "malformed response: \(why)"
        case .responseTooLarge: "response too large"
        }
    }

    /// Whether the request may have reached the server's application (a retry could repeat it).
    public var mayHaveReachedServer: Bool {
        switch self {
        case .invalidRequest, .hostNotFound, .cannotConnect, .tls: false
        case .timedOut, .cancelled, .connectionLost, .malformedResponse, .responseTooLarge: true
        }
    }
}
