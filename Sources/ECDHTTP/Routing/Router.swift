/// Method + path-pattern routing with `{param}` segments, a middleware chain, and error rendering.
///
/// Build it once, then hand it to a server; it is an immutable value while serving. Patterns are
/// matched segment by segment against the raw path, each segment then percent-decoded, so
/// `/v1/accounts/a%40b.com` and `/v1/accounts/a@b.com` both give `{email}` = `a@b.com`, and an
/// encoded slash (`%2F`) stays inside its segment.
public struct Router: HTTPResponder {
    /// A request's way through the middleware to a handler, errors rendered: built once per
    /// route (as Hummingbird's `MiddlewareGroup` does), when the route or a stage is added.
    typealias Chain = @Sendable (HTTPRequest, RequestContext) -> HTTPResult

    struct Route: Sendable {
        let method: HTTPMethod
        let pattern: String
        let segments: [RouteSegment]
        let handler: HTTPHandler
        var chain: Chain
    }

    private var routes: [Route] = []
    private var middleware: [any HTTPMiddleware] = []
    /// The chain of a request no route serves (400, 404, 405, 501): middleware still sees it.
    private var unrouted: Chain = { _, _ in .response(HTTPError.notFound().response) }
    /// Renders an error that is not an `HTTPError` (a bug or an unexpected failure). The default
    /// answers a generic 500 that reveals nothing; install a hook to log the error with the request id.
    public var unexpectedError: @Sendable (any Error, HTTPRequest, RequestContext) -> HTTPResponse = { _, _, _ in
        HTTPError(.internalServerError, code: "internal_error", message: "internal error").response
    } { didSet { compile() } }
    /// Renders a request that matched no route (404) — override for HTML pages.
    public var notFound: @Sendable (HTTPRequest, RequestContext) -> HTTPResponse = { _, _ in
        HTTPError.notFound().response
    } { didSet { compile() } }

    public init() { compile() }

    // MARK: Building

    /// Adds a stage around every route, the ones already added and the ones to come; the first
    /// stage added is the outermost.
    public mutating func use(_ stage: any HTTPMiddleware) {
        middleware.append(stage)
        compile()
    }

    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping HTTPHandler) {
        routes.append(Route(method: method, pattern: pattern, segments: RouteSegment.parse(pattern), handler: handler,
                            chain: { _, _ in .response(HTTPError.notFound().response) }))
        compile()
    }

    public mutating func get(_ pattern: String, _ handler: @escaping @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse) {
        add(.get, pattern) { request, context in .response(try handler(request, context)) }
    }
    public mutating func post(_ pattern: String, _ handler: @escaping @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse) {
        add(.post, pattern) { request, context in .response(try handler(request, context)) }
    }
    public mutating func delete(_ pattern: String, _ handler: @escaping @Sendable (HTTPRequest, RequestContext) throws -> HTTPResponse) {
        add(.delete, pattern) { request, context in .response(try handler(request, context)) }
    }
    public mutating func getAsync(_ pattern: String, _ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        add(.get, pattern, Router.deferring(handler))
    }
    public mutating func postAsync(_ pattern: String, _ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        add(.post, pattern, Router.deferring(handler))
    }
    public mutating func deleteAsync(_ pattern: String, _ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) {
        add(.delete, pattern, Router.deferring(handler))
    }

    static func deferring(_ handler: @escaping @Sendable (HTTPRequest, RequestContext) async throws -> HTTPResponse) -> HTTPHandler {
        { request, context in .deferred { try await handler(request, context) } }
    }

    /// The methods of RFC 9110 §9, PATCH (RFC 5789) and QUERY (the safe method with a body of
    /// draft-ietf-httpbis-safe-method-w-body, which clients and API checkers already send): on an
    /// existing path they get 405 with `Allow`. Any other token is "not implemented" (501).
    static let knownMethods: Set<String> = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY",
    ]

    // MARK: Serving

    public func respond(to request: HTTPRequest, context: RequestContext) -> HTTPResult {
        var context = context
        // A server has matched at the head already; a router called on its own matches here.
        if context.route == nil { context.settleRoute(route(request)) }
        if let index = context.route?.routeIndex { return routes[index].chain(request, context) }
        return unrouted(request, context)
    }

    /// Builds every route's chain, and the unrouted one, from the stages and hooks as they are now.
    private mutating func compile() {
        let unexpected = unexpectedError
        let renderer: @Sendable (any Error, HTTPRequest, RequestContext) -> HTTPResponse = { error, request, context in
            if let error = error as? HTTPError { return error.response }
            return unexpected(error, request, context)
        }
        let stages = middleware
        // Each layer's `next` renders errors, so middleware only ever sees results.
        func chain(_ handler: @escaping HTTPHandler) -> Chain {
            var next = handler
            for stage in stages.reversed() {
                let inner = Router.rendering(next, renderer)
                next = { request, context in try stage.handle(request, context: context, next: inner) }
            }
            return Router.rendering(next, renderer)
        }
        for index in routes.indices { routes[index].chain = chain(routes[index].handler) }
        let notFound = self.notFound
        unrouted = chain { request, context in
            if let failure = context.route?.failure { throw failure }
            return .response(notFound(request, context))
        }
    }

    static func rendering(
        _ handler: @escaping HTTPHandler,
        _ renderer: @escaping @Sendable (any Error, HTTPRequest, RequestContext) -> HTTPResponse
    ) -> Chain {
        { request, context in
            do {
                switch try handler(request, context) {
                case .response(let response): return .response(response)
                case .deferred(let work):
                    return .deferred {
                        do { return try await work() } catch { return renderer(error, request, context) }
                    }
                }
            } catch {
                return .response(renderer(error, request, context))
            }
        }
    }

    /// Matches the request's method and raw path against the routes, in the order they were added.
    /// The first route whose path and method both fit serves it (`HEAD` is served by `GET`).
    public func route(_ request: HTTPRequest) -> RouteMatch? {
        var rawPath = request.rawPath
        return rawPath.withUTF8 { route(request.method, $0) }
    }

    private func route(_ method: HTTPMethod, _ path: UnsafeBufferPointer<UInt8>) -> RouteMatch {
        let count = Router.segmentCount(path)
        var samePath: [Int] = []
        var malformed = false
        for (index, route) in routes.enumerated() where route.segments.count == count {
            let fits = route.method == method || (method == .head && route.method == .get)
            // Parameters are decoded on every route whose path fits, whatever its method: a
            // malformed escape is a 400 even where the method would be a 405.
            var parameters: [String: String]? = malformed ? nil : [:]
            switch Router.compare(route.segments, path, decodeInto: &parameters) {
            case .differs:
                continue
            case .malformed:
                malformed = true
                var none: [String: String]? = nil
                guard Router.compare(route.segments, path, decodeInto: &none) == .matches else { continue }
            case .matches:
                if fits, !malformed {
                    return RouteMatch(pattern: route.pattern, parameters: parameters ?? [:], routeIndex: index, failure: nil)
                }
            }
            samePath.append(index)
        }
        let pattern = samePath.first { routes[$0].method == method || (method == .head && routes[$0].method == .get) }
            .map { routes[$0].pattern } ?? samePath.first.map { routes[$0].pattern }
        return RouteMatch(pattern: pattern, parameters: [:], routeIndex: nil, failure: failure(method, malformed, samePath))
    }

    /// Why no handler serves a request, in the order routing has always checked: an unknown
    /// method (501), a malformed escape (400), a path served for other methods (405 with `Allow`).
    private func failure(_ method: HTTPMethod, _ malformed: Bool, _ samePath: [Int]) -> HTTPError? {
        // RFC 9110 §9.1: a method the server does not recognize at all is 501, whatever the path;
        // a known method that the resource does not support is 405 with `Allow`.
        if !Router.knownMethods.contains(method.rawValue), !routes.contains(where: { $0.method == method }) {
            return HTTPError(.notImplemented, code: "not_implemented", message: "method not implemented")
        }
        if malformed { return HTTPError.badRequest("malformed percent-encoding in path") }
        guard !samePath.isEmpty else { return nil }
        var allowed = Set(samePath.map { routes[$0].method.rawValue })
        if allowed.contains("GET") { allowed.insert("HEAD") }
        var headers = HTTPHeaders()
        headers.add(name: "Allow", value: allowed.sorted().joined(separator: ", "))
        return HTTPError(.methodNotAllowed, code: "method_not_allowed", message: "method not allowed", headers: headers)
    }
}
