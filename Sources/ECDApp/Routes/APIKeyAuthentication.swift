import ECDHTTP

/// The internal listener's gate: `Authorization: Bearer <key>` must carry one of the configured
/// API keys (several, so keys can be rotated without downtime; the store compares each in
/// constant time and may be reloaded on SIGHUP). `/healthz` is open, and a path that is no route
/// of this listener is left to the router's 404, so the public routes answer 404 here with or
/// without a key.
///
/// The daemon runs the check as the server's head hook (`checkHead`), before a request's body is
/// read; the middleware then lets through what the hook admitted and checks anything else itself
/// (a router used without that server).
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
        var context = context
        // Set only by `checkHead` on this server, never from anything the client sent.
        if context.values[Self.admittedKey] == nil {
            try authenticate(request, &context)
        }
        return try next(request, context)
    }

    /// The server's head hook: the same check on the head alone, answered before any body is read.
    func checkHead(_ head: HTTPRequest, context: inout RequestContext) -> HTTPResponse? {
        do {
            try authenticate(head, &context)
            context.values[Self.admittedKey] = "1"
            return nil
        } catch {
            return error.response
        }
    }

    static let admittedKey = "api_key_checked"

    private func authenticate(_ request: HTTPRequest, _ context: inout RequestContext) throws(APIError) {
        if openPaths.contains(request.path) || routes.pattern(method: request.method, rawPath: request.rawPath) == nil {
            return
        }
        guard let presented = Self.bearerToken(request.headers["Authorization"]),
              let index = keys.matchingKeyIndex(presented.utf8) else {
            throw APIError.unauthorized()
        }
        // Which key was used (by position, never the key), so an operator can see when the old
        // key of a rotation stops being used.
        context.values["api_key"] = "#\(index + 1)"
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
