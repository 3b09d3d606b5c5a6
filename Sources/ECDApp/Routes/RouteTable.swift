import ECDHTTP

/// Builds a listener's `Router`. Which route a request is for is the router's answer alone
/// (`RequestContext.route`, settled at the request's head), so the key check and the access log
/// read that record instead of matching the path again.
struct RouteTable: Sendable {
    /// The router being built; its `notFound`/`unexpectedError` hooks may be set directly.
    var router = Router()
    /// Wraps each handler as it is added (the internal listener's ``RouteGuard``); set it before
    /// adding routes.
    var wrapHandler: (@Sendable (HTTPMethod, String, @escaping HTTPHandler) -> HTTPHandler)?
    /// Every route added, `(method, pattern)`, in order: not for matching (the router alone does
    /// that), but so the role×route test walks the real list and a new route without a rule fails it.
    private(set) var registered: [(method: HTTPMethod, pattern: String)] = []

    init() {}

    mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping HTTPHandler) {
        router.add(method, pattern, wrapHandler.map { $0(method, pattern, handler) } ?? handler)
        registered.append((method, pattern))
    }

    /// A handler that answers at once on the connection's thread (no blocking work inside).
    mutating func immediate(_ method: HTTPMethod, _ pattern: String,
                            _ handler: @escaping @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse) {
        add(method, pattern) { request, context in .response(try handler(request, context)) }
    }

    /// A handler run as a task: database writes and calls to Cronofy, which may wait.
    mutating func deferred(_ method: HTTPMethod, _ pattern: String,
                           _ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        add(method, pattern) { request, context in .deferred { try await handler(request, context) } }
    }

    mutating func use(_ stage: any HTTPMiddleware) { router.use(stage) }
}
