import ECDHTTP

/// Builds a listener's `Router` and remembers every route pattern it was given, so that stages
/// outside the router can tell which route a request is for: the access log (which must name the
/// pattern, never a raw path carrying an email or a link token) and the API-key check (which
/// leaves unknown paths to the router's 404, so a route of the other listener is a 404 here).
struct RouteTable: Sendable {
    /// The router being built; its `notFound`/`unexpectedError` hooks may be set directly.
    var router = Router()
    private var entries: [Entry] = []

    private struct Entry: Sendable {
        let method: HTTPMethod
        let pattern: String
        /// nil marks a `{parameter}` segment.
        let segments: [String?]
    }

    init() {}

    mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping HTTPHandler) {
        router.add(method, pattern, handler)
        let segments: [String?] = pattern.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? nil : String(part)
        }
        entries.append(Entry(method: method, pattern: pattern, segments: segments))
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

    /// The pattern of the route `rawPath` belongs to: one registered for `method` if any, else
    /// one of another method (the router answers 405 there), else nil (a 404).
    func pattern(method: HTTPMethod, rawPath: String) -> String? {
        let parts = rawPath.split(separator: "/")
        var otherMethod: String?
        for entry in entries where Self.matches(entry.segments, parts) {
            if entry.method == method || (method == .head && entry.method == .get) { return entry.pattern }
            if otherMethod == nil { otherMethod = entry.pattern }
        }
        return otherMethod
    }

    private static func matches(_ segments: [String?], _ parts: [Substring]) -> Bool {
        guard segments.count == parts.count else { return false }
        for (segment, part) in zip(segments, parts) {
            if let literal = segment, literal != part { return false }
        }
        return true
    }
}
