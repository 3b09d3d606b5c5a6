@testable import ECDHTTP

/// Starts a server on port 0 with `router`, runs `body`, shuts it down.
func withServer(
    _ router: Router = testRouter(), limits: HTTPLimits = HTTPLimits(),
    listen: ListenAddress = .tcp(host: "127.0.0.1", port: 0),
    configure: (inout HTTPServerConfiguration) -> Void = { _ in },
    _ body: (HTTPServer) async throws -> Void
) async throws {
    var configuration = HTTPServerConfiguration(name: "test", listen: listen, limits: limits)
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, responder: router)
    try server.start()
    do {
        try await body(server)
    } catch {
        await server.shutdown(deadline: .seconds(1))
        throw error
    }
    await server.shutdown(deadline: .seconds(1))
}

func testRouter() -> Router {
    var router = Router()
    router.get("/hello") { _, _ in .text(.ok, "hello") }
    router.get("/echo-query") { request, _ in .text(.ok, request.queryItems.map { "\($0.name)=\($0.value)" }.joined(separator: "&")) }
    router.get("/path/{name}") { _, context in .text(.ok, try context.parameter("name")) }
    router.post("/echo") { request, _ in HTTPResponse(status: .ok, body: request.body) }
    router.getAsync("/slow") { request, _ in
        let ms = Int(request.query("ms") ?? "50") ?? 50
        try await Task.sleep(for: .milliseconds(ms))
        return .text(.ok, "slow \(ms)")
    }
    // Sleeps its full time whatever happens: cancellation is ignored.
    router.getAsync("/stubborn") { request, _ in
        let until = ContinuousClock.now + .milliseconds(Int(request.query("ms") ?? "50") ?? 50)
        while ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(10)) }
        return .text(.ok, "stubborn")
    }
    router.getAsync("/throws") { _, _ in
        struct Boom: Error {}
        throw Boom()
    }
    router.get("/context") { _, context in
        .text(.ok, "\(context.listenerName) \(context.peerAddress ?? "-") \(context.requestID)")
    }
    return router
}
