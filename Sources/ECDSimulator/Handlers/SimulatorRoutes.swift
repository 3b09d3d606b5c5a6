import ECDHTTP

/// The simulator's handlers and the router that serves them. One listener plays both of
/// Cronofy's host roles (app: the authorize page; api: everything else), and the token and revoke
/// endpoints are served once for both, as the reference advises.
struct SimulatorRoutes: Sendable {
    let store: SimulatorStore
    let dispatcher: CallbackDispatcher
    let control: SimulatorControl

    func makeRouter() -> Router {
        var router = Router()
        router.use(SimulatorInstrumentation(store: store))

        // App host role: the browser's approval page.
        router.get("/enterprise_connect/oauth/authorize") { request, _ in authorize(request) }
        router.get("/enterprise_connect/oauth/decision") { request, _ in decide(request, fields: queryFields(request)) }
        router.post("/enterprise_connect/oauth/decision") { request, _ in
            let fields = (try? RequestBody.parseForm(request.body).fields) ?? [:]
            return decide(request, fields: fields)
        }

        // API host role.
        router.post("/oauth/token") { request, _ in token(request) }
        router.post("/oauth/token/revoke") { request, _ in revoke(request) }
        router.post("/v1/service_account_authorizations") { request, _ in authorizeAccounts(request) }
        router.get("/v1/userinfo") { request, _ in userInfo(request) }
        router.get("/v1/resources") { request, _ in resources(request) }

        SimulatorControlRoutes(control: control).register(on: &router)

        router.notFound = { _, _ in
            .simJSON(.notFound, .object([("error", .string("not_found"))]))
        }
        return router
    }

    func queryFields(_ request: HTTPRequest) -> [String: String] {
        var fields: [String: String] = [:]
        for item in request.queryItems where fields[item.name] == nil { fields[item.name] = item.value }
        return fields
    }

    // MARK: Shared answers

    /// 401 for a bearer token that is missing, unknown, revoked or expired. Cronofy documents no
    /// body for it; the `WWW-Authenticate` header follows RFC 6750 §3.
    static func unauthorized() -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "WWW-Authenticate", value: "Bearer error=\"invalid_token\"")
        return HTTPResponse(status: .unauthorized, headers: headers)
    }

    /// 403: the token is recognised but its authorization lacks the scope (RFC 6750 §3.1).
    static func forbidden() -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "WWW-Authenticate", value: "Bearer error=\"insufficient_scope\"")
        return HTTPResponse(status: .forbidden, headers: headers)
    }

    /// Cronofy's 422 body: `{"errors":{"<param>":[{"key":"errors.required","description":"required"}]}}`.
    static func unprocessable(_ errors: [(field: String, key: String, description: String)]) -> HTTPResponse {
        var grouped: [(String, [SimJSON])] = []
        for error in errors {
            let item = SimJSON.object([("key", .string(error.key)), ("description", .string(error.description))])
            if let index = grouped.firstIndex(where: { $0.0 == error.field }) {
                grouped[index].1.append(item)
            } else {
                grouped.append((error.field, [item]))
            }
        }
        let body = SimJSON.object([("errors", .object(grouped.map { ($0.0, SimJSON.array($0.1)) }))])
        return .simJSON(.unprocessableContent, body)
    }
}
