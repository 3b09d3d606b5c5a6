import ECDCore
import ECDHTTP
import Logging

/// The internal listener (api-contract.md §4): the REST API the application's own services call, every
/// route but `/healthz` behind an API key. Handlers that only read a cache answer on the
/// connection's thread; the rest (database, Cronofy) run as tasks.
struct InternalRoutes: Sendable {
    let core: EnterpriseConnect
    let logger: Logger
    let apiKeys: APIKeyStore
    /// Prometheus text of the process's metrics, rendered on each scrape.
    let renderMetrics: @Sendable () -> String
    /// nil only for routers built without a daemon (no line is then written).
    var audit: AuditLog? = nil
    /// `internal.open_probes`
    var openProbes = false

    /// The roles, scopes and audit of every route (README "Roles").
    var guardian: RouteGuard {
        let core = self.core
        let unexpected = CoreErrorMapping.renderer(logger: logger)
        return RouteGuard(keys: apiKeys, audit: audit, openProbes: openProbes,
                          serviceAccountOf: { email in (try? await core.account(email: email))?.serviceAccountID },
                          render: { error, request, context in
                              if let error = error as? HTTPError { return error.response }
                              return unexpected(error, request, context)
                          }, logger: logger)
    }

    func makeTable() -> RouteTable {
        var table = RouteTable()
        let core = self.core
        let renderMetrics = self.renderMetrics
        let guardian = self.guardian
        table.wrapHandler = { method, pattern, handler in guardian.wrap(method, pattern, handler) }

        table.immediate(.get, "/healthz") { _, _ in SystemRoutes.healthy() }
        table.deferred(.get, "/readyz") { _, _ in await SystemRoutes.readiness(core) }
        // The account gauges are counted in the database at each scrape, so they are current.
        table.deferred(.get, "/metrics") { _, _ in
            await core.updateGauges()
            return SystemRoutes.metrics(renderMetrics())
        }

        ServiceAccountRoutes(core: core).register(in: &table)
        AccountRoutes(core: core).register(in: &table)
        AdminRoutes(core: core).register(in: &table)

        table.deferred(.get, "/v1/events") { request, _ in
            let query = QueryParameters(request)
            try query.rejectUnknown(allowing: ["after", "limit"])
            let after = try query.string("after").map { text throws(APIError) -> Int64 in
                guard let id = Int64(text), id >= 0 else { throw APIError.invalidField("after", "expected an event id (an integer ≥ 0)") }
                return id
            }
            let limit = try query.integer("limit", in: 1...1000, default: 100)
            return try .json(.ok, try await core.events(after: after, limit: limit))
        }

        if let audit { AuditRoutes(audit: audit).register(in: &table) }

        table.use(APIKeyAuthentication(guardian: guardian))
        table.router.notFound = { _, _ in APIError.notFound("no such route").response }
        table.router.unexpectedError = CoreErrorMapping.renderer(logger: logger)
        return table
    }
}

/// `min_validity` of the token routes: seconds, default 60, at most 3600 (api-contract.md §4).
enum TokenQuery {
    static func minValidity(_ request: HTTPRequest) throws(APIError) -> Duration {
        let query = QueryParameters(request)
        try query.rejectUnknown(allowing: ["min_validity"])
        return .seconds(try query.integer("min_validity", in: 0...3600, default: 60))
    }
}
