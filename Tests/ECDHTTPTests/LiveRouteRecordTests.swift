import ECDSync
import Foundation
import Testing
@testable import ECDHTTP
import ECDTestSupport

/// The router's match is made once, at the request's head, and every stage reads that one record:
/// the head hook, middleware, the handler and the response hook (over real TCP connections).
@Suite("Live server: one route record per request")
struct LiveRouteRecordTests {
    /// What each stage saw, as `stage pattern parameter`.
    final class Sightings: Sendable {
        let lines = Locked<[String]>([])
        func add(_ stage: String, _ context: RequestContext) {
            let line = "\(stage) \(context.route?.pattern ?? "nil") \(context.parameters["name"] ?? "-")"
            lines.withLock { $0.append(line) }
        }
        var all: [String] { lines.withLock { $0 } }
    }

    struct Spy: HTTPMiddleware {
        let sightings: Sightings
        func handle(_ request: HTTPRequest, context: RequestContext, next: HTTPHandler) throws -> HTTPResult {
            sightings.add("middleware", context)
            return try next(request, context)
        }
    }

    @Test func headHookMiddlewareHandlerAndResponseHookShareTheMatch() async throws {
        let sightings = Sightings()
        var router = Router()
        router.get("/path/{name}") { _, context in
            sightings.add("handler", context)
            return .text(.ok, try context.parameter("name"))
        }
        router.use(Spy(sightings: sightings))
        try await withServer(router, configure: { configuration in
            configuration.headHook = { _, context in
                sightings.add("head", context)
                return nil
            }
            configuration.onResponse = { _, _, context, _ in sightings.add("response", context) }
        }) { server in
            let client = try RawClient(port: server.port)
            client.send("GET /path/a%40b HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().text == "a@b")
            // A path served for another method keeps its pattern (for logs); an unknown one has none.
            client.send("POST /path/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
            #expect(try await client.readResponse().status == 405)
            client.send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().status == 404)
            #expect(await eventually(timeout: .seconds(3)) { sightings.all.count == 10 })
        }
        #expect(sightings.all == [
            "head /path/{name} a@b", "middleware /path/{name} a@b", "handler /path/{name} a@b", "response /path/{name} a@b",
            "head /path/{name} -", "middleware /path/{name} -", "response /path/{name} -",
            "head nil -", "middleware nil -", "response nil -",
        ])
    }

    /// The head hook's memo lives as long as its connection: each request starts from what the
    /// previous one on the same connection left, a new connection from nothing.
    @Test func theHeadHooksMemoIsKeptPerConnection() async throws {
        let seen = Sightings()
        try await withServer(testRouter(), configure: { configuration in
            configuration.headHook = { _, context in
                let count = (context.connectionMemo as? Int) ?? 0
                seen.lines.withLock { $0.append("\(count)") }
                context.connectionMemo = count + 1
                return nil
            }
        }) { server in
            for _ in 0..<2 {
                let client = try RawClient(port: server.port)
                client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                for _ in 0..<3 { #expect(try await client.readResponse().text == "hello") }
            }
        }
        #expect(seen.all == ["0", "1", "2", "0", "1", "2"])
    }
}
