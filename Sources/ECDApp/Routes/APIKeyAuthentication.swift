import ECDHTTP

/// The internal listener's gate: `Authorization: Bearer <key>` must carry one of the configured
/// API keys (several, so keys can be rotated without downtime; the store compares each in
/// constant time and may be reloaded on SIGHUP). `/healthz` is open, and a path that is no route
/// of this listener is left to the router's 404, so the public routes answer 404 here with or
/// without a key.
struct APIKeyAuthentication: HTTPMiddleware {
    private let keys: APIKeyStore
    private let routes: RouteTable
    private let openPaths: Set<String>

    init(keys: APIKeyStore, routes: RouteTable, openPaths: Set<String> = ["/healthz"]) {
        self.keys = keys
        self.routes = routes
        self.openPaths = openPaths
    }

    func handle(_ request: HTTPRequest, context: RequestContext, next: HTTPHandler) throws -> HTTPResult {
        if openPaths.contains(request.path) || routes.pattern(method: request.method, rawPath: request.rawPath) == nil {
            return try next(request, context)
        }
        guard let presented = Self.bearerToken(request.headers["Authorization"]),
              let index = keys.matchingKeyIndex(presented.utf8) else {
            throw APIError.unauthorized()
        }
        var context = context
        // Which key was used (by position, never the key), so an operator can see when the old
        // key of a rotation stops being used.
        context.values["api_key"] = "#\(index + 1)"
        return try next(request, context)
    }

    /// `Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1).
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let trimmed = header.trimmingASCIIWhitespace()
        guard trimmed.utf8.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = String(trimmed.dropFirst(7)).trimmingASCIIWhitespace()
        return token.isEmpty ? nil : token
    }
}
