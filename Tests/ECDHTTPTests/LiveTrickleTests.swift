import Foundation
import Synchronization
import Testing
@testable import ECDHTTP
import ECDTestSupport

/// A body sent a byte at a time must not keep a connection: the body deadline runs from the head,
/// whatever arrives after it (over real TCP connections).
@Suite("Live server: trickled bodies are cut off")
struct LiveTrickleTests {
    static let bodyTimeout: Duration = .seconds(2)

    /// Sends `head`, then `byte` every 100 ms for up to 20 s (ten times the deadline) until the
    /// server answers; returns the answer and how long after the head it came.
    static func trickle(_ head: String, byte: String, expectContinue: Bool = false) async throws -> (RawResponse, Duration) {
        var limits = HTTPLimits()
        limits.bodyReadTimeout = bodyTimeout
        var result: (RawResponse, Duration)?
        try await withServer(limits: limits) { server in
            let client = try RawClient(port: server.port, timeout: 25)
            client.send(head)
            let start = ContinuousClock.now
            if expectContinue { #expect(try await client.readResponse().status == 100) }
            let stop = Atomic<Bool>(false)
            Thread {
                for _ in 0..<200 where !stop.load(ordering: .relaxed) {
                    client.send(byte)
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }.start()
            let response = try await client.readResponse()
            stop.store(true, ordering: .relaxed)
            result = (response, ContinuousClock.now - start)
            #expect(await client.isClosedByPeer())
        }
        return try #require(result)
    }

    @Test func aTrickledDeclaredBodyGets408AtTheDeadline() async throws {
        let (response, elapsed) = try await Self.trickle(
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n", byte: "x")
        #expect(response.status == 408)
        #expect(response.text.contains("request_timeout"))
        #expect(elapsed >= Self.bodyTimeout && elapsed < Self.bodyTimeout * 4)
    }

    @Test func aTrickledChunkedBodyGets408AtTheDeadline() async throws {
        let (response, elapsed) = try await Self.trickle(
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", byte: "1\r\nx\r\n")
        #expect(response.status == 408)
        #expect(elapsed >= Self.bodyTimeout && elapsed < Self.bodyTimeout * 4)
    }

    @Test func aTrickleAfter100ContinueGets408AtTheDeadline() async throws {
        let (response, elapsed) = try await Self.trickle(
            "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n", byte: "x",
            expectContinue: true)
        #expect(response.status == 408)
        #expect(elapsed >= Self.bodyTimeout && elapsed < Self.bodyTimeout * 4)
    }
}
