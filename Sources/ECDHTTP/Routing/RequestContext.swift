/// What a handler knows about a request beyond the request itself. A value: middleware may
/// change a copy (add `values`) before passing it on.
public struct RequestContext: Sendable {
    /// The request's `X-Request-Id` when it sent a valid one (1 to 64 visible ASCII characters),
    /// else a short unique id; sent back as `X-Request-Id` either way.
    public var requestID: String
    /// The peer's address as the socket reports it (`127.0.0.1`, `::1`), or nil on a unix socket.
    public var peerAddress: String?
    /// The peer's port, or nil on a unix socket.
    public var peerPort: Int?
    /// Path parameters of the matched route, percent-decoded (`{email}` → `a@b.com`).
    public var parameters: [String: String]
    /// The matched route's pattern (`/v1/accounts/{email}`), for logs and metrics; nil when none matched.
    public var routePattern: String?
    /// When the request's head was complete, in `ContinuousClock` time.
    public var receivedAt: ContinuousClock.Instant
    /// Name of the listener that received the request (`public`, `internal`), for logs and metrics.
    public var listenerName: String
    /// Values middleware attaches for later stages (e.g. the id of the API key used).
    public var values: [String: String]

    public init(
        requestID: String, peerAddress: String? = nil, peerPort: Int? = nil,
        parameters: [String: String] = [:], routePattern: String? = nil,
        receivedAt: ContinuousClock.Instant = .now, listenerName: String = "http",
        values: [String: String] = [:]
    ) {
        self.requestID = requestID
        self.peerAddress = peerAddress
        self.peerPort = peerPort
        self.parameters = parameters
        self.routePattern = routePattern
        self.receivedAt = receivedAt
        self.listenerName = listenerName
        self.values = values
    }

    /// A path parameter, or a 400 when the route has none of that name (a programming error in
    /// the route table, reported rather than crashing).
    public func parameter(_ name: String) throws -> String {
        guard let value = parameters[name] else {
            throw HTTPError(.internalServerError, code: "internal_error", message: "missing route parameter")
        }
        return value
    }
}
