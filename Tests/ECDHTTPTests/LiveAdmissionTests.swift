import Foundation
import Testing
@testable import ECDHTTP
import ECDTestSupport

/// The head hook and the body budget: a request is judged on its head before the server holds
/// any of its body, over real TCP connections.
@Suite("Live server: head hook and body budget")
struct LiveAdmissionTests {
    /// Lets in requests that carry `Authorization: Bearer good` and tells the responder so.
    static let keyCheck: HTTPHeadHook = { head, context in
        guard head.headers["Authorization"] == "Bearer good" else {
            return HTTPError(.unauthorized, code: "unauthorized", message: "no key").response
        }
        context.values["key"] = "good"
        return nil
    }

    static func router() -> Router {
        var router = testRouter()
        router.get("/who") { _, context in .text(.ok, context.values["key"] ?? "nobody") }
        return router
    }

    static func withKeyServer(limits: HTTPLimits = HTTPLimits(), _ body: (HTTPServer) async throws -> Void) async throws {
        try await withServer(router(), limits: limits, configure: { $0.headHook = keyCheck }, body)
    }

    @Test func aWrongKeyIsRefusedOnTheHeadBeforeAnyBodyIsSent() async throws {
        try await Self.withKeyServer { server in
            let client = try RawClient(port: server.port)
            // A megabyte declared, not a byte of it sent: the answer must not wait for it.
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer bad\r\nContent-Length: 1000000\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 401)
            #expect(response.header("Connection") == "close")
            #expect(server.bufferedBodyBytes == 0)
            #expect(await client.isClosedByPeer())
        }
    }

    @Test func aWrongKeyGetsNo100Continue() async throws {
        try await Self.withKeyServer { server in
            let client = try RawClient(port: server.port)
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
            #expect(try await client.readResponse().status == 401)
            #expect(await client.isClosedByPeer())
            #expect(server.bufferedBodyBytes == 0)
        }
    }

    @Test func aGoodKeyIsServedAndWhatTheHookAddedReachesTheResponder() async throws {
        try await Self.withKeyServer { server in
            let client = try RawClient(port: server.port)
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer good\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            #expect(try await client.readResponse().status == 100)
            client.send("ping")
            #expect(try await client.readResponse().text == "ping")
            // Pipelined, bodiless: refused and served in order on one kept-alive connection.
            client.send("GET /who HTTP/1.1\r\nHost: a\r\n\r\nGET /who HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer good\r\n\r\n")
            let refused = try await client.readResponse()
            #expect(refused.status == 401)
            #expect(refused.header("Connection") != "close")
            #expect(try await client.readResponse().text == "good")
            #expect(await eventually(timeout: .seconds(3)) { server.bufferedBodyBytes == 0 })
        }
    }

    @Test func declaredBodiesOverTheBudgetGet503BeforeBeingRead() async throws {
        var limits = HTTPLimits()
        limits.maxBufferedBodyBytes = 10_000
        try await withServer(limits: limits) { server in
            // One request holds 8,000 of the 10,000 bytes while its body trickles in.
            let holder = try RawClient(port: server.port)
            holder.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 8000\r\n\r\n" + String(repeating: "a", count: 100))
            #expect(await eventually(timeout: .seconds(3)) { server.bufferedBodyBytes >= 8000 })

            let refused = try RawClient(port: server.port)
            refused.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")
            let busy = try await refused.readResponse()
            #expect(busy.status == 503)
            #expect(busy.header("Retry-After") == "1")
            #expect(busy.header("Connection") == "close")
            #expect(busy.text.contains("server_busy"))
            #expect(await refused.isClosedByPeer())

            // A bodiless request needs no budget.
            let plain = try RawClient(port: server.port)
            plain.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await plain.readResponse().status == 200)

            holder.send(String(repeating: "a", count: 7900))
            #expect(try await holder.readResponse().body.count == 8000)
            #expect(await eventually(timeout: .seconds(3)) { server.bufferedBodyBytes == 0 })

            let later = try RawClient(port: server.port)
            later.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "b", count: 5000))
            #expect(try await later.readResponse().body.count == 5000)
        }
    }

    @Test func aChunkedBodyGrowingPastTheBudgetGets503() async throws {
        var limits = HTTPLimits()
        limits.maxBufferedBodyBytes = 10_000
        try await withServer(limits: limits) { server in
            let client = try RawClient(port: server.port)
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + String(repeating: "x", count: 4096) + "\r\n")
            try await Task.sleep(for: .milliseconds(20))
            client.send("2000\r\n" + String(repeating: "y", count: 8192) + "\r\n0\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 503)
            #expect(response.header("Retry-After") == "1")
            #expect(await client.isClosedByPeer())
            #expect(await eventually(timeout: .seconds(3)) { server.bufferedBodyBytes == 0 })
        }
    }

    @Test func aRefusalOfAHeadSplitOverReadsDropsWhatFollows() async throws {
        try await Self.withKeyServer { server in
            // The head arrives in two reads (the first is kept as pending input), the second also
            // carrying body bytes and a pipelined request: all dropped after the 401.
            let client = try RawClient(port: server.port)
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\n")
            try await Task.sleep(for: .milliseconds(20))
            client.send("Content-Length: 10\r\n\r\n0123456789GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().status == 401)
            #expect(await client.isClosedByPeer())
            // Likewise a request that asks to close, split the same way.
            let closing = try RawClient(port: server.port)
            closing.send("GET /who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n")
            try await Task.sleep(for: .milliseconds(20))
            closing.send("Authorization: Bearer good\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await closing.readResponse().text == "good")
            #expect(await closing.isClosedByPeer())
            #expect(await eventually(timeout: .seconds(3)) { server.connectionCount == 0 && server.bufferedBodyBytes == 0 })
        }
    }

    @Test func theChargeOfAnAbandonedBodyIsReturned() async throws {
        try await withServer { server in
            let client = try RawClient(port: server.port)
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 50000\r\n\r\nabc")
            #expect(await eventually(timeout: .seconds(3)) { server.bufferedBodyBytes >= 50000 })
            shutdown(client.fd, Int32(SHUT_RDWR))
            #expect(await eventually(timeout: .seconds(3)) { server.bufferedBodyBytes == 0 && server.connectionCount == 0 })
        }
    }
}
