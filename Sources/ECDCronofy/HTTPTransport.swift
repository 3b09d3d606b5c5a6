import ECDHTTPClient

/// `CronofyTransport` over the package's `HTTPClient` (OpenSSL, certificate and name verified).
///
/// No cookies, no caches: every call carries its own credentials, and token responses are never
/// stored. Redirects are not followed (a redirected POST to `/oauth/token` would re-send the client
/// secret to wherever the redirect points), so a 3xx surfaces as a status.
public final class HTTPTransport: CronofyTransport, Sendable {
    private let client: HTTPClient

    public init(client: HTTPClient = HTTPClient()) {
        self.client = client
    }

    public func send(_ request: TransportRequest) async throws -> TransportResponse {
        let response = try await client.send(HTTPClientRequest(method: request.method, url: request.url, headers: request.headers,
                                                               body: request.body, timeout: request.timeout))
        return TransportResponse(status: response.status, headers: response.headers, body: response.body)
    }
}
