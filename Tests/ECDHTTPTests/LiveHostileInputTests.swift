import Foundation
import Testing
@testable import ECDHTTP
import ECDTestSupport

@Suite("Live server: hostile input")
struct LiveHostileInputTests {
    /// Random and half-valid byte streams on many connections: each gets an error response or a
    /// close (never a hang past the short timeouts), and the server keeps serving afterwards.
    @Test func garbageNeverBreaksTheServer() async throws {
        var limits = HTTPLimits()
        limits.headerReadTimeout = .milliseconds(300)
        limits.bodyReadTimeout = .milliseconds(300)
        limits.keepAliveIdleTimeout = .milliseconds(300)
        limits.maxBodyBytes = 4096
        try await withServer(limits: limits) { server in
            let port = server.port
            var generator = SystemRandomNumberGenerator()
            let fragments = [
                "GET / HTTP/1.1\r\n", "Host: a\r\n", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n",
                "\r\n", "\n", "\r", " ", ":", "5\r\nhello\r\n", "0\r\n\r\n", "HTTP/1.1", "%", "\u{0}", "POST /echo ",
                "Expect: 100-continue\r\n", "Connection: close\r\n", "ffffffffffffffffff\r\n",
            ]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<80 {
                    var payload: [UInt8] = []
                    if round % 2 == 0 {
                        payload = (0..<Int.random(in: 1...600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    } else if round % 5 == 1 {
                        payload = Array("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
                    } else {
                        for _ in 0..<Int.random(in: 1...12, using: &generator) {
                            payload += Array(fragments.randomElement(using: &generator)!.utf8)
                        }
                    }
                    let bytes = payload
                    group.addTask {
                        let client = try RawClient(port: port, timeout: 3)
                        client.send(bytes)
                        // Either answers (any status) until it closes, or closes: both are fine;
                        // a timeout here would mean the server hung on this input.
                        while true {
                            do {
                                let response = try await client.readResponse()
                                #expect((100..<600).contains(response.status))
                            } catch RawClient.Failure.closed {
                                break
                            } catch RawClient.Failure.malformed(let line) {
                                Issue.record("malformed response \(line)")
                                break
                            }
                            if await client.isClosedByPeer() { break }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let client = try RawClient(port: port)
            client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().text == "hello")
            #expect(await eventually(timeout: .seconds(3)) { server.connectionCount == 1 })
        }
    }
}
