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
    /// The router's match for this request, written once (by the server at the request's head,
    /// or by a router called on its own) and read by the head hook, middleware, the handler and
    /// the response hook alike. Nil only before routing, or for a request refused before it was parsed.
    public private(set) var route: RouteMatch?
    /// When the request's head was complete, in `ContinuousClock` time.
    public var receivedAt: ContinuousClock.Instant
    /// Name of the listener that received the request (`public`, `internal`), for logs and metrics.
    public var listenerName: String
    /// Who the request was admitted as: the name of the credential that matched (an API key's
    /// name), set by the head hook or an authentication middleware, for handlers, logs and audit.
    /// Never the credential itself; nil when none was checked or presented.
    public var principal: String?
    /// Values middleware attaches for later stages.
    public var values: [String: String]
    /// What the head hook keeps from one request to the next on the same connection: the server
    /// hands it the value it left on the connection's previous request and keeps what it leaves
    /// here. For work that depends only on what a connection repeats, such as checking the
    /// credentials it presents on every request. Nil on a new connection.
    public var connectionMemo: (any Sendable)?
    /// The turn of the event loop running the request, for a synchronous handler that stages
    /// work to be done once per turn (``LoopTurn``); nil when no server's loop runs it.
    public var turn: LoopTurn?

    public init(
        requestID: String, peerAddress: String? = nil, peerPort: Int? = nil,
        receivedAt: ContinuousClock.Instant = .now, listenerName: String = "http",
        values: [String: String] = [:]
    ) {
        self.requestID = requestID
        self.peerAddress = peerAddress
        self.peerPort = peerPort
        self.route = nil
        self.principal = nil
        self.connectionMemo = nil
        self.turn = nil
        self.receivedAt = receivedAt
        self.listenerName = listenerName
        self.values = values
    }

    /// Path parameters of the matched route, percent-decoded (`{email}` → `a@b.com`).
    public var parameters: [String: String] { route?.parameters ?? [:] }
    /// The matched route's pattern (`/v1/accounts/{email}`), for logs and metrics; nil when none matched.
    public var routePattern: String? { route?.pattern }

    /// Records the router's match; a context that has one keeps it.
    mutating func settleRoute(_ match: RouteMatch?) {
        guard route == nil else { return }
        route = match
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
