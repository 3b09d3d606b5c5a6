/// Decides on a request from its head alone, before any of its body is read or buffered (the
/// request's `body` is empty): a response is sent in place of the responder's, nil lets the
/// request go on. It may add to the context (`values`), which the responder then receives.
public typealias HTTPHeadHook = @Sendable (_ head: HTTPRequest, _ context: inout RequestContext) -> HTTPResponse?

/// One listener's settings.
public struct HTTPServerConfiguration: Sendable {
    /// The listener's name (`public`, `internal`, `simulator`), copied into `RequestContext.listenerName`.
    public var name: String
    public var listen: ListenAddress
    public var limits: HTTPLimits
    /// Called on the connection's thread after each response is written (access log, metrics),
    /// with the request (nil when it was refused before parsing completed), the response as sent,
    /// its context and the time since the head was complete. Must not block.
    public var onResponse: (@Sendable (HTTPRequest?, HTTPResponse, RequestContext, Duration) -> Void)?
    /// Called on the connection's thread for every request once its head is complete, before its
    /// body is read: the place for checks that need only the head, such as credentials, so that a
    /// client without them cannot make the server hold a body. When it answers a request whose body
    /// is still to come, the body is never read and the connection closes. Must not block.
    public var headHook: HTTPHeadHook?
    /// Mode of the unix socket file (ignored for TCP).
    public var unixSocketMode: UInt32 = 0o660
    /// The answer to a request that arrives while the server drains (typically 503 with
    /// `Retry-After`, so a client goes to another instance or comes back). Nil: such a request is
    /// still served, for listeners whose callers never retry (Cronofy's callbacks).
    public var drainingResponse: HTTPResponse?

    public init(name: String = "http", listen: ListenAddress, limits: HTTPLimits = HTTPLimits()) {
        self.name = name
        self.listen = listen
        self.limits = limits
        self.onResponse = nil
        self.headHook = nil
    }
}
