import ECDSync
import Foundation
import Testing
@testable import ECDHTTP
import ECDTestSupport

/// A server connection driven over a socketpair: no listener, no TCP, just the connection logic.
func withConnection(
    _ router: Router = testRouter(), limits: HTTPLimits = HTTPLimits(),
    onResponse: (@Sendable (HTTPRequest?, HTTPResponse, RequestContext, Duration) -> Void)? = nil,
    _ body: (RawClient, HTTPServer) async throws -> Void
) async throws {
    var fds: [Int32] = [0, 0]
    #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
    var configuration = HTTPServerConfiguration(name: "pair", listen: .unix(path: "/nonexistent"), limits: limits)
    configuration.onResponse = onResponse
    let server = HTTPServer(configuration: configuration, responder: router)
    server.serve(connectedSocket: fds[0])
    let client = RawClient(fd: fds[1])
    try await body(client, server)
}

@Suite("Connection over a socketpair")
struct ConnectionTests {
    @Test func headHasHeadersButNoBody() async throws {
        try await withConnection { client, _ in
            client.send("HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            let head = try await client.readResponse(forHead: true)
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "5")
            // The next response starts right after the head: no body bytes were sent.
            client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().text == "hello")
        }
    }

    @Test func expectContinueGetsAnInterimResponse() async throws {
        try await withConnection { client, _ in
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            #expect(try await client.readResponse().status == 100)
            client.send("ping")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "ping")
        }
    }

    @Test func malformedRequestGets400AndClose() async throws {
        try await withConnection { client, server in
            client.send("GET / HTTP/1.1\r\nHost : a\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 400)
            #expect(response.header("Connection") == "close")
            #expect(response.text.contains("\"code\":\"bad_request\""))
            #expect(await client.isClosedByPeer())
            #expect(await eventually(timeout: .seconds(3)) { server.connectionCount == 0 })
        }
    }

    @Test func declaredBodyTooLargeIs413WithoutReadingIt() async throws {
        var limits = HTTPLimits()
        limits.maxBodyBytes = 10
        try await withConnection(limits: limits) { client, _ in
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "x", count: 1000))
            let response = try await client.readResponse()
            #expect(response.status == 413)
            #expect(await client.isClosedByPeer())
        }
    }

    @Test func manyPipelinedRequestsInOneWrite() async throws {
        try await withConnection { client, _ in
            let requests = (0..<100).map { "GET /echo-query?n=\($0) HTTP/1.1\r\nHost: a\r\n\r\n" }.joined()
            client.send(requests)
            for n in 0..<100 {
                let r85 = try await client.readResponse()
                #expect(r85.text == "n=\(n)")
            }
        }
    }

    @Test func largeResponseIsDeliveredThroughBackpressure() async throws {
        var router = testRouter()
        let big = [UInt8](repeating: UInt8(ascii: "z"), count: 8 << 20)
        router.get("/big") { _, _ in HTTPResponse(body: big) }
        try await withConnection(router) { client, _ in
            client.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.body.count == 8 << 20)
            #expect(try await client.readResponse().text == "hello")
        }
    }

    @Test func handlerAskingForCloseClosesAfterResponse() async throws {
        var router = testRouter()
        router.get("/bye") { _, _ in HTTPResponse(status: .ok, headers: ["Connection": "close"], body: Array("bye".utf8)) }
        try await withConnection(router) { client, _ in
            client.send("GET /bye HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.header("Connection") == "close")
            #expect(await client.isClosedByPeer())
        }
    }

    @Test func unsafeHandlerHeadersAreDroppedAndFramingIsOurs() async throws {
        var router = testRouter()
        router.get("/h") { _, _ in
            HTTPResponse(status: .ok, headers: ["X-Bad": "a\r\nInjected: yes", "Content-Length": "999", "X-Good": "1"], body: Array("ok".utf8))
        }
        router.get("/none") { _, _ in HTTPResponse(status: .noContent, body: Array("ignored".utf8)) }
        try await withConnection(router) { client, _ in
            client.send("GET /h HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.header("Injected") == nil)
            #expect(response.header("X-Bad") == nil)
            #expect(response.header("X-Good") == "1")
            #expect(response.header("Content-Length") == "2")
            client.send("GET /none HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            let empty = try await client.readResponse()
            #expect(empty.status == 204)
            #expect(empty.header("Content-Length") == nil)
            #expect(try await client.readResponse().text == "hello")
        }
    }

    @Test func http10GetsKeepAliveOnlyWhenAsked() async throws {
        try await withConnection { client, _ in
            client.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let r137 = try await client.readResponse()
            #expect(r137.header("Connection") == "keep-alive")
            client.send("GET /hello HTTP/1.0\r\n\r\n")
            let r139 = try await client.readResponse()
            #expect(r139.header("Connection") == "close")
            #expect(await client.isClosedByPeer())
        }
    }

    @Test func onResponseSeesEveryResponseAndUniqueIDs() async throws {
        let seen = Locked<[(String?, Int, String)]>([])
        try await withConnection(onResponse: { request, response, context, _ in
            seen.withLock { $0.append((request?.path, response.status.code, context.requestID)) }
        }) { client, _ in
            client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/9.9\r\n\r\n")
            let a = try await client.readResponse()
            let b = try await client.readResponse()
            let c = try await client.readResponse()
            #expect([a.status, b.status, c.status] as [Int] == [200, 404, 505])
            let ids = [a, b, c].compactMap { $0.header("X-Request-Id") }
            #expect(Set(ids).count == 3)
            #expect(await eventually(timeout: .seconds(3)) { seen.withLock { $0.count } == 3 })
            let recorded = seen.withLock { $0 }
            #expect(recorded.map(\.0) == ["/hello", "/nope", nil])
            #expect(recorded.map(\.1) as [Int] == [200, 404, 505])
            #expect(recorded.map(\.2) == ids)
        }
    }

    @Test func receivedAtIsWhenTheHeadWasComplete() async throws {
        let durations = Locked<[Duration]>([])
        try await withConnection(onResponse: { _, _, _, duration in durations.withLock { $0.append(duration) } }) { client, _ in
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n")
            try await Task.sleep(for: .milliseconds(400))
            client.send("ok")
            let response = try await client.readResponse()
            #expect(response.text == "ok")
            #expect(await eventually(timeout: .seconds(3)) { durations.withLock { $0.count } == 1 })
            // Without it the duration would be ~0 (measured from the end of the body); the margin
            // absorbs a loaded machine delaying the read of the head.
            #expect(durations.withLock { $0[0] } >= .milliseconds(200))
        }
    }

    @Test func clientLeavingDuringDeferredWorkIsHarmless() async throws {
        try await withConnection { client, server in
            client.send("GET /slow?ms=100 HTTP/1.1\r\nHost: a\r\n\r\n")
            shutdown(client.fd, Int32(SHUT_RDWR))
            #expect(await eventually(timeout: .seconds(3)) { server.connectionCount == 0 })
        }
    }
}

@Suite("Connection timeouts")
struct ConnectionTimeoutTests {
    static var short: HTTPLimits {
        var limits = HTTPLimits()
        limits.headerReadTimeout = .milliseconds(200)
        limits.bodyReadTimeout = .milliseconds(200)
        limits.keepAliveIdleTimeout = .milliseconds(200)
        limits.writeTimeout = .milliseconds(200)
        return limits
    }

    @Test func slowHeadGets408() async throws {
        // The header timeout runs from the connection's start, inside withConnection: `start`
        // is taken before it so that the lower bound can be exact.
        let start = ContinuousClock.now
        try await withConnection(limits: Self.short) { client, _ in
            client.send("GET /hello HTTP/1.1\r\nHo")
            let response = try await client.readResponse()
            #expect(response.status == 408)
            #expect(ContinuousClock.now - start >= Self.short.headerReadTimeout)
            #expect(await client.isClosedByPeer())
        }
    }

    @Test func silentConnectionGets408() async throws {
        try await withConnection(limits: Self.short) { client, _ in
            let r197 = try await client.readResponse()
            #expect(r197.status == 408)
        }
    }

    @Test func slowBodyGets408() async throws {
        try await withConnection(limits: Self.short) { client, _ in
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
            let r204 = try await client.readResponse()
            #expect(r204.status == 408)
            #expect(await client.isClosedByPeer())
        }
    }

    @Test func idleKeepAliveConnectionIsClosedSilently() async throws {
        try await withConnection(limits: Self.short) { client, server in
            // The idle timeout runs from the response's end, which follows the request: `start`
            // taken before sending makes the lower bound exact (taken after reading the
            // response, it measured only what was left of the timeout, anywhere from 0 up).
            let start = ContinuousClock.now
            client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            let r212 = try await client.readResponse()
            #expect(r212.status == 200)
            #expect(await client.isClosedByPeer())
            #expect(ContinuousClock.now - start >= Self.short.keepAliveIdleTimeout)
            #expect(await eventually(timeout: .seconds(3)) { server.connectionCount == 0 })
        }
    }

    @Test func readerThatNeverReadsIsDroppedAfterWriteTimeout() async throws {
        var router = testRouter()
        let big = [UInt8](repeating: 1, count: 16 << 20)
        router.get("/big") { _, _ in HTTPResponse(body: big) }
        try await withConnection(router, limits: Self.short) { client, server in
            client.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(await eventually(timeout: .seconds(3)) { server.connectionCount == 0 })
        }
    }

    @Test func deferredWorkIsNotCutByTheReadTimeouts() async throws {
        try await withConnection(limits: Self.short) { client, _ in
            client.send("GET /slow?ms=400 HTTP/1.1\r\nHost: a\r\n\r\n")
            let r233 = try await client.readResponse()
            #expect(r233.text == "slow 400")
        }
    }

    /// Past `handlerTimeout` the request is answered 503 in the work's place, on time even when
    /// the work ignores its cancellation, and the connection serves the next request.
    @Test(arguments: ["/slow?ms=5000", "/stubborn?ms=5000"])
    func deferredWorkPastItsDeadlineGets503(target: String) async throws {
        var limits = HTTPLimits()
        limits.handlerTimeout = .milliseconds(300)
        try await withConnection(limits: limits) { client, _ in
            let start = ContinuousClock.now
            client.send("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try await client.readResponse()
            let elapsed = ContinuousClock.now - start
            #expect(response.status == 503)
            #expect(response.text.contains(#""code":"handler_timeout""#))
            #expect(response.header("Retry-After") == "5")
            #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(3), "\(elapsed)")
            client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().text == "hello")
        }
    }
}
