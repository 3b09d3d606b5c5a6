import ECDHTTP

/// The internal listener's gate: `Authorization: Bearer <key>` must carry one of the configured
/// API keys (several, so keys can be rotated without downtime; the store compares each in
/// constant time and may be reloaded on SIGHUP). `/healthz` is open, and a path that is no route
/// of this listener (the router's match has no pattern) is left to the router's 404, so the
/// public routes answer 404 here with or without a key.
///
/// The daemon runs the check as the server's head hook (`checkHead`), before a request's body is
/// read; the middleware then lets through what the hook admitted and checks anything else itself
/// (a router used without that server). Either way the key that matched is named in
/// `RequestContext.principal`, which the access log reports.
struct APIKeyAuthentication: HTTPMiddleware {
    private let keys: APIKeyStore
    private let openPaths: Set<String>

    init(keys: APIKeyStore, openPaths: Set<String> = ["/healthz"]) {
        self.keys = keys
        self.openPaths = openPaths
    }

    func handle(_ request: HTTPRequest, context: RequestContext, next: HTTPHandler) throws -> HTTPResult {
        var context = context
        // Set only by a check on this server, never from anything the client sent.
        if context.principal == nil {
            try authenticate(request, &context)
        }
        return try next(request, context)
    }

    /// The server's head hook: the same check on the head alone, answered before any body is read.
    func checkHead(_ head: HTTPRequest, context: inout RequestContext) -> HTTPResponse? {
        do {
            try authenticate(head, &context)
            return nil
        } catch {
            return error.response
        }
    }

    private func authenticate(_ request: HTTPRequest, _ context: inout RequestContext) throws(APIError) {
        // Fails closed: a request that was never routed is checked like any other.
        if let route = context.route, route.pattern == nil { return }
        if openPaths.contains(request.path) { return }
        guard let presented = Self.bearerToken(request.headers["Authorization"]),
              let index = keys.matchingKeyIndex(presented.utf8) else {
            throw APIError.unauthorized()
        }
        // Which key was used (by position, never the key), so an operator can see when the old
        // key of a rotation stops being used.
        context.principal = "#\(index + 1)"
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
