import ECDHTTP
import ECDTestSupport
import Testing

/// The router on its own: matching, parameters, method handling, middleware and error rendering.
@Suite("Router")
struct RouterTests {
    static func respond(_ router: Router, _ method: HTTPMethod, _ path: String) async -> HTTPResponse {
        await router.run(HTTPRequest.make(method, path, headers: ["Host": "x"]))
    }

    static var router: Router {
        var router = Router()
        router.get("/v1/accounts/{email}") { _, context in .text(.ok, try context.parameter("email")) }
        router.delete("/v1/accounts/{email}") { _, _ in .text(.ok, "deleted") }
        router.getAsync("/slow/{n}") { _, context in
            guard context.parameters["n"] == "1" else { throw HTTPError(.conflict, code: "nope", message: "n must be 1") }
            return .text(.ok, "one")
        }
        return router
    }

    @Test func parametersArePercentDecodedPerSegment() async {
        #expect(await Self.respond(Self.router, .get, "/v1/accounts/a%40b.com").body == Array("a@b.com".utf8))
        #expect(await Self.respond(Self.router, .get, "/v1/accounts/a@b.com").body == Array("a@b.com".utf8))
        // An encoded slash stays inside its segment instead of adding one.
        #expect(await Self.respond(Self.router, .get, "/v1/accounts/a%2Fb").body == Array("a/b".utf8))
    }

    @Test func unknownPathIs404() async {
        #expect(await Self.respond(Self.router, .get, "/v1/nothing").status == .notFound)
        #expect(await Self.respond(Self.router, .get, "/v1/accounts/a/b").status == .notFound)
    }

    @Test func knownMethodOnWrongRouteIs405WithAllow() async {
        let response = await Self.respond(Self.router, .post, "/v1/accounts/a@b.com")
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers["Allow"] == "DELETE, GET, HEAD")
        #expect(await Self.respond(Self.router, .put, "/v1/accounts/a@b.com").status == .methodNotAllowed)
    }

    /// QUERY (draft-ietf-httpbis-safe-method-w-body) is a method the router knows: an existing
    /// path it is not routed on answers 405 with the path's methods, an unknown path 404.
    @Test func queryOnARouteWithoutItIs405WithAllow() async {
        let response = await Self.respond(Self.router, HTTPMethod("QUERY"), "/v1/accounts/a@b.com")
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers["Allow"] == "DELETE, GET, HEAD")
        #expect(await Self.respond(Self.router, HTTPMethod("QUERY"), "/nowhere").status == .notFound)
    }

    @Test func unrecognizedMethodIs501Anywhere() async {
        #expect(await Self.respond(Self.router, HTTPMethod("BREW"), "/v1/accounts/a@b.com").status == .notImplemented)
        #expect(await Self.respond(Self.router, HTTPMethod("get"), "/v1/accounts/a@b.com").status == .notImplemented)
        #expect(await Self.respond(Self.router, HTTPMethod("BREW"), "/nowhere").status == .notImplemented)
    }

    @Test func headIsServedByGetRoutes() async {
        #expect(await Self.respond(Self.router, .head, "/v1/accounts/x@y.z").status == .ok)
    }

    @Test func malformedEscapeInParameterIs400() async {
        #expect(await Self.respond(Self.router, .get, "/v1/accounts/%zz").status == .badRequest)
    }

    @Test func errorsOfDeferredWorkAreRendered() async {
        #expect(await Self.respond(Self.router, .get, "/slow/1").body == Array("one".utf8))
        let refused = await Self.respond(Self.router, .get, "/slow/2")
        #expect(refused.status == .conflict)
        #expect(String(decoding: refused.body, as: UTF8.self) == #"{"error":{"code":"nope","message":"n must be 1"}}"#)
    }

    struct Tag: HTTPMiddleware {
        let name: String
        func handle(_ request: HTTPRequest, context: RequestContext, next: HTTPHandler) throws -> HTTPResult {
            if name == "deny", request.headers["Authorization"] == nil {
                throw HTTPError(.unauthorized, code: "unauthorized", message: "no key")
            }
            return try next(request, context).map { response in
                var response = response
                response.headers.add(name: "X-Seen", value: name)
                return response
            }
        }
    }

    @Test func middlewareWrapsInOrderAndSeesRenderedErrors() async {
        var router = Self.router
        router.use(Tag(name: "outer"))
        router.use(Tag(name: "deny"))
        let response = await Self.respond(router, .get, "/v1/accounts/a@b.com")
        // The inner stage refused; the outer stage still saw (and tagged) the rendered 401.
        #expect(response.status == .unauthorized)
        #expect(response.headers.values(for: "X-Seen") == ["outer"])
    }

    @Test func unexpectedErrorsAreAGeneric500() async {
        struct Boom: Error {}
        var router = Router()
        router.get("/boom") { _, _ in throw Boom() }
        let response = await Self.respond(router, .get, "/boom")
        #expect(response.status == .internalServerError)
        #expect(!String(decoding: response.body, as: UTF8.self).contains("Boom"))
    }
}
