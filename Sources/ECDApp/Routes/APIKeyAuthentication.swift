import ECDHTTP

/// The internal listener's gate: `Authorization: Bearer <key>` must carry one of the configured
/// API keys (several, so keys can be rotated without downtime; the store compares each in
/// constant time and may be reloaded on SIGHUP), and that key's role must hold the permission the
/// route's ``AccessPolicy`` rule names (else 403, audited). `/healthz` is open (and `/readyz`,
/// `/metrics` with `internal.open_probes`); a path that is no route of this listener (the
/// router's match has no pattern) is left to the router's 404, so the public routes answer 404
/// here with or without a key.
///
/// The daemon runs the check as the server's head hook (`checkHead`), before a request's body is
/// read; the middleware then lets through what the hook admitted and checks anything else itself
/// (a router used without that server). Either way the key that matched is named in
/// `RequestContext.principal`, which the access log reports.
///
/// A connection presents the same header on every request, so the head hook remembers, per
/// connection, the header it last checked and the key it matched (`PresentedKeyMemo`): a repeat
/// is one constant-time byte comparison with that header, with no lock, no SHA-256 and no pass
/// over the keys, and the route's guard takes the key from the memo too. The memo names the key
/// store's generation, so a reload (SIGHUP) checks the header afresh.
struct APIKeyAuthentication: HTTPMiddleware {
    private let keys: APIKeyStore
    private let guardian: RouteGuard

    init(guardian: RouteGuard) {
        self.keys = guardian.keys
        self.guardian = guardian
    }

    /// The key check alone (no audit log, no probes left open), for a router without a daemon.
    init(keys: APIKeyStore) {
        self.init(guardian: RouteGuard(keys: keys, audit: nil, openProbes: false, serviceAccountOf: { _ in nil },
                                       render: { error, _, _ in (error as? HTTPError)?.response ?? APIError.internal(requestID: "-").response }))
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
        // The rule of the route that serves the request; nil for a 405/501 (answered after the key check).
        let pattern = context.route?.pattern
        let rule = context.route.flatMap { $0.isRouted ? $0.pattern : nil }.flatMap { AccessPolicy.rule(request.method, $0) }
        if let rule, guardian.isOpen(rule) { return }
        guard let header = request.headers["Authorization"], let key = presentedKey(header, &context) else {
            throw APIError.unauthorized()
        }
        // Which key was used (by name, `#1` for a plain key, never the key), for the access log,
        // the audit trail and the route's scope check.
        context.principal = key.name
        // The role is checked on the head, so a key without the permission never gets a body read.
        if let rule, let pattern, let permission = rule.permission, !key.allows(permission) {
            throw guardian.forbid(permission, key: key, rule: rule, pattern: pattern, request: request, context: context)
        }
    }

    /// The key `header` carries, from the connection's memo when it is the header checked last on
    /// this connection and the keys have not been reloaded since: then an atomic load and one
    /// constant-time comparison, no lock, no digest.
    private func presentedKey(_ header: String, _ context: inout RequestContext) -> APIKey? {
        let generation = keys.generation
        if let memo = context.connectionMemo as? PresentedKeyMemo, memo.generation == generation,
           memo.matches(header) {
            return memo.key
        }
        let key = Self.bearerToken(header).flatMap { keys.identify($0.utf8) }
        context.connectionMemo = PresentedKeyMemo(header: header, generation: generation, key: key)
        return key
    }

    /// Byte equality in time that depends only on the lengths: the memo holds a key, and the
    /// comparison must not say how much of it a header matched.
    static func sameBytes(_ a: [UInt8], _ b: String) -> Bool {
        var b = b
        return b.withUTF8 { y in
            a.withUnsafeBufferPointer { x in
                guard x.count == y.count else { return false }
                var difference: UInt8 = 0
                for i in 0..<x.count { difference |= x[i] ^ y[i] }
                return difference == 0
            }
        }
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

/// The `Authorization` header a connection presented last and the key it matched (nil: none),
/// under the key store's generation then (a reload makes it stale).
final class PresentedKeyMemo: Sendable {
    /// The header's bytes, compared as they are (no String comparison, no normalization).
    let header: [UInt8]
    let generation: Int
    let key: APIKey?

    init(header: String, generation: Int, key: APIKey?) {
        self.header = Array(header.utf8)
        self.generation = generation
        self.key = key
    }

    func matches(_ presented: String) -> Bool { APIKeyAuthentication.sameBytes(header, presented) }

    /// The memo's key when it is `name`'s and the keys were not reloaded since (nil: look it up).
    static func key(named name: String, in context: RequestContext, generation: Int) -> APIKey? {
        guard let memo = context.connectionMemo as? PresentedKeyMemo, memo.generation == generation,
              let key = memo.key, key.name == name else { return nil }
        return key
    }
}
