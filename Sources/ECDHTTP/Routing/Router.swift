/// Method + path-pattern routing with `{param}` segments, a middleware chain, and error rendering.
///
/// Build it once, then hand it to a server; it is an immutable value while serving. Patterns are
/// matched segment by segment against the raw path, each segment then percent-decoded, so
/// `/v1/accounts/a%40b.com` and `/v1/accounts/a@b.com` both give `{email}` = `a@b.com`, and an
/// encoded slash (`%2F`) stays inside its segment.
public struct Router: HTTPResponder {
    struct Route: Sendable {
        let method: HTTPMethod
        let pattern: String
        let segments: [Segment]
        let handler: HTTPHandler
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    private var routes: [Route] = []
    private var middleware: [any HTTPMiddleware] = []
    /// Renders an error that is not an `HTTPError` (a bug or an unexpected failure). The default
    /// answers a generic 500 that reveals nothing; install a hook to log the error with the request id.
    public var unexpectedError: @Sendable (any Error, HTTPRequest, RequestContext) -> HTTPResponse = { _, _, _ in
        HTTPError(.internalServerError, code: "internal_error", message: "internal error").response
    }
    /// Renders a request that matched no route (404) — override for HTML pages.
    public var notFound: @Sendable (HTTPRequest, RequestContext) -> HTTPResponse = { _, _ in
        HTTPError.notFound().response
    }

    public init() {}

    // MARK: Building

    public mutating func use(_ stage: any HTTPMiddleware) { middleware.append(stage) }

    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping HTTPHandler) {
        routes.append(Route(method: method, pattern: pattern, segments: Router.parse(pattern), handler: handler))
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

    static func parse(_ pattern: String) -> [Segment] {
        pattern.split(separator: "/", omittingEmptySubsequences: true).map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
    }

    // MARK: Serving

    public func respond(to request: HTTPRequest, context: RequestContext) -> HTTPResult {
        let unexpected = unexpectedError
        let renderer: @Sendable (any Error, HTTPRequest, RequestContext) -> HTTPResponse = { error, request, context in
            if let error = error as? HTTPError { return error.response }
            return unexpected(error, request, context)
        }
        // Innermost: dispatch to the route. Each layer's `next` renders errors, so middleware only
        // ever sees results.
        let routes = self.routes
        let notFound = self.notFound
        var next: HTTPHandler = { request, context in
            try Router.dispatch(routes: routes, request: request, context: context, notFound: notFound)
        }
        for stage in middleware.reversed() {
            let inner = Router.rendering(next, renderer)
            next = { request, context in try stage.handle(request, context: context, next: inner) }
        }
        return Router.rendering(next, renderer)(request, context)
    }

    static func rendering(
        _ handler: @escaping HTTPHandler,
        _ renderer: @escaping @Sendable (any Error, HTTPRequest, RequestContext) -> HTTPResponse
    ) -> @Sendable (HTTPRequest, RequestContext) -> HTTPResult {
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

    static func dispatch(
        routes: [Route], request: HTTPRequest, context: RequestContext,
        notFound: @Sendable (HTTPRequest, RequestContext) -> HTTPResponse
    ) throws -> HTTPResult {
        // RFC 9110 §9.1: a method the server does not recognize at all is 501, whatever the path;
        // a known method that the resource does not support is 405 with `Allow` (below).
        if !knownMethods.contains(request.method.rawValue), !routes.contains(where: { $0.method == request.method }) {
            throw HTTPError(.notImplemented, code: "not_implemented", message: "method not implemented")
        }
        // Split on bytes: `String.split` walks grapheme clusters, which showed up in profiles.
        let pathSegments = request.rawPath.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
            .map { Substring($0) }
        var allowed: [String] = []
        for route in routes {
            guard let parameters = try match(route.segments, pathSegments) else { continue }
            let methodMatches = route.method == request.method || (request.method == .head && route.method == .get)
            guard methodMatches else {
                allowed.append(route.method.rawValue)
                continue
            }
            var context = context
            context.parameters = parameters
            context.routePattern = route.pattern
            return try route.handler(request, context)
        }
        if !allowed.isEmpty {
            if allowed.contains("GET") { allowed.append("HEAD") }
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: Set(allowed).sorted().joined(separator: ", "))
            throw HTTPError(.methodNotAllowed, code: "method_not_allowed", message: "method not allowed", headers: headers)
        }
        return .response(notFound(request, context))
    }

    static func match(_ pattern: [Segment], _ path: [Substring]) throws -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(pattern, path) {
            switch segment {
            case .literal(let literal):
                guard part == literal else { return nil }
            case .parameter(let name):
                guard let decoded = PercentDecoding.decode(part) else {
                    throw HTTPError.badRequest("malformed percent-encoding in path")
                }
                parameters[name] = decoded
            }
        }
        return parameters
    }
}
