import ECDSync
import Foundation
import Testing
@testable import ECDHTTP
import ECDTestSupport

@Suite("Live server: load, limits, fairness")
struct LiveLimitTests {
    @Test func concurrentClients() async throws {
        try await withServer { server in
            let port = server.port
            try await withThrowingTaskGroup(of: Int.self) { group in
                for c in 0..<32 {
                    group.addTask {
                        let client = try RawClient(port: port)
                        var ok = 0
                        for i in 0..<20 {
                            client.send("GET /echo-query?c=\(c)&i=\(i) HTTP/1.1\r\nHost: a\r\n\r\n")
                            let response = try await client.readResponse()
                            if response.text == "c=\(c)&i=\(i)" { ok += 1 }
                        }
                        return ok
                    }
                }
                var total = 0
                for try await ok in group { total += ok }
                #expect(total == 32 * 20)
            }
        }
    }

    @Test func connectionsOverTheLimitGet503() async throws {
        var limits = HTTPLimits()
        limits.maxConnections = 2
        let refusals = Locked(0)
        let refusalLogged = TestSignal()
        try await withServer(limits: limits, configure: { configuration in
            configuration.onResponse = { request, response, _, _ in
                if request == nil && response.status.code == 503 {
                    refusals.withLock { $0 += 1 }
                    refusalLogged.fire()
                }
            }
        }) { server in
            let a = try RawClient(port: server.port)
            let b = try RawClient(port: server.port)
            a.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            b.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            _ = try await a.readResponse()
            _ = try await b.readResponse()
            let c = try RawClient(port: server.port)
            c.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            let refused = try await c.readResponse()
            #expect(refused.status == 503)
            #expect(refused.header("Connection") == "close")
            #expect(refused.text.contains("too_many_connections"))
            #expect(await c.isClosedByPeer())
            // The hook runs after the 503 is sent (the client may read it first): wait for it.
            #expect(await refusalLogged.wait())
            #expect(refusals.withLock { $0 } == 1)
            // Once one leaves, a new client is served again.
            shutdown(a.fd, Int32(SHUT_RDWR))
            #expect(await eventually(timeout: .seconds(3)) { server.connectionCount < 2 })
            let d = try RawClient(port: server.port)
            d.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await d.readResponse().status == 200)
        }
    }

    @Test func slowlorisDoesNotDelayOthersAndIsCut() async throws {
        // What is checked is an order, not a speed: every fast request is answered while the
        // slow client, connected first, still waits for its cut. A server that served clients
        // one at a time would answer the fast one only after that cut (and the fast client's
        // read, bounded by 5 s, would fail first). The header timeout is the slow client's whole
        // life, only the room the five fast exchanges need on a loaded machine.
        let headerTimeout: Duration = .seconds(8)
        var limits = HTTPLimits()
        limits.headerReadTimeout = headerTimeout
        try await withServer(limits: limits) { server in
            let slowStart = ContinuousClock.now
            let slow = try RawClient(port: server.port, timeout: 15)
            slow.send("GET /hello HTTP/1.1\r\n")
            let fast = try RawClient(port: server.port)
            for _ in 0..<5 {
                slow.send("X")
                fast.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try await fast.readResponse().status == 200)
                #expect(Self.nothingReceived(slow.fd), "the fast client was answered only after the slow one was cut")
                try await Task.sleep(for: .milliseconds(20))
            }
            // The trickle of bytes does not extend the slow client's deadline, which runs from
            // its connection: it is cut no sooner than the timeout after it connected.
            #expect(try await slow.readResponse().status == 408)
            #expect(ContinuousClock.now - slowStart >= headerTimeout)
            #expect(await slow.isClosedByPeer())
        }
    }

    /// Nothing has arrived on `fd` yet, and it is not closed (a peek that does not wait).
    static func nothingReceived(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    @Test func bodyLimitOverTCP() async throws {
        var limits = HTTPLimits()
        limits.maxBodyBytes = 1000
        try await withServer(limits: limits) { server in
            let client = try RawClient(port: server.port)
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "x", count: 5000))
            #expect(try await client.readResponse().status == 413)
            let chunked = try RawClient(port: server.port)
            chunked.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + String(repeating: "x", count: 2048) + "\r\n0\r\n\r\n")
            #expect(try await chunked.readResponse().status == 413)
        }
    }

    @Test func requestLineAndHeaderLimitsOverTCP() async throws {
        var limits = HTTPLimits()
        limits.maxRequestLineBytes = 100
        limits.maxHeaderBytes = 200
        limits.maxHeaderCount = 3
        try await withServer(limits: limits) { server in
            let a = try RawClient(port: server.port)
            a.send("GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await a.readResponse().status == 414)
            let b = try RawClient(port: server.port)
            b.send("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 300) + "\r\n\r\n")
            #expect(try await b.readResponse().status == 431)
            let c = try RawClient(port: server.port)
            c.send("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n")
            #expect(try await c.readResponse().status == 431)
        }
    }

    @Test func chunkedUploadOverTCP() async throws {
        try await withServer { server in
            let client = try RawClient(port: server.port)
            client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
            try await Task.sleep(for: .milliseconds(20))
            client.send("2;ext=1\r\nde\r\n0\r\nT: 1\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.text == "abcde")
        }
    }
}
