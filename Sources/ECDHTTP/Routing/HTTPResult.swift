/// What a handler produces. `.response` is written at once on the connection's own thread, with
/// no hop (the fast path: a cached token). `.deferred` runs in a Swift concurrency task (a call
/// to Cronofy, a database write that may wait) and is written when it finishes; the connection
/// keeps later pipelined requests queued until then, so answers stay in order.
public enum HTTPResult: Sendable {
    case response(HTTPResponse)
    case deferred(@Sendable () async throws -> HTTPResponse)

    /// Applies `transform` to the eventual response, keeping the fast path synchronous.
    public func map(_ transform: @escaping @Sendable (HTTPResponse) -> HTTPResponse) -> HTTPResult {
        switch self {
        case .response(let response): return .response(transform(response))
        case .deferred(let work): return .deferred { transform(try await work()) }
        }
    }
}

/// A function from request to result. Thrown errors become responses (see `Router`).
public typealias HTTPHandler = @Sendable (HTTPRequest, RequestContext) throws -> HTTPResult

/// What the server calls for each complete request. It never throws: by the time a result
/// leaves the responder, every error has been rendered as a response (`Router` also wraps
/// deferred work so that its errors are rendered; a server still answers 500 to any that escape).
public protocol HTTPResponder: Sendable {
    /// Matches a request's head to a route. The server calls it once per request, as soon as the
    /// head is complete and before the head hook, and keeps the answer in the context it passes on.
    func route(_ head: HTTPRequest) -> RouteMatch?
    func respond(to request: HTTPRequest, context: RequestContext) -> HTTPResult
}

extension HTTPResponder {
    /// A responder without routes: its contexts carry no match.
    public func route(_ head: HTTPRequest) -> RouteMatch? { nil }
}

/// A stage around the handlers: authentication, logging, metrics. Call `next` to continue.
public protocol HTTPMiddleware: Sendable {
    func handle(_ request: HTTPRequest, context: RequestContext, next: HTTPHandler) throws -> HTTPResult
}
