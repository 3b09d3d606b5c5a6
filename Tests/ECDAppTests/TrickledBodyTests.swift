import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// A body sent a byte at a time is cut at the body deadline on both of the daemon's listeners
/// (a 2 s deadline here, 30 s in production), however steadily the bytes keep coming.
@Suite struct TrickledBodyTests {
    static let deadline: Duration = .seconds(2)

    @Test func aTrickledBodyIsCutWith408OnBothListeners() async throws {
        try await TestDaemon.run(limits: { $0.bodyReadTimeout = Self.deadline }) { daemon in
            let internalPort = daemon.application.internalPort
            let publicResult = try await Self.trickle(
                port: daemon.publicPort, head: "POST /callbacks/delegated/some-request HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            let internalResult = try await Self.trickle(
                port: internalPort, head: "POST /v1/service-accounts/connect-links HTTP/1.1\r\nHost: localhost\r\n"
                    + "Authorization: Bearer \(TestDaemon.apiKey)\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            for (name, result) in [("public", publicResult), ("internal", internalResult)] {
                #expect(result.answer.hasPrefix("HTTP/1.1 408 "), "\(name): \(result.answer.prefix(200))")
                #expect(result.elapsed >= Self.deadline && result.elapsed < Self.deadline * 4, "\(name): \(result.elapsed)")
            }
        }
    }

    /// Sends `head`, then one body byte every 100 ms (up to 200, twenty seconds' worth) until the
    /// server answers and closes; returns what it answered and how long after the head.
    static func trickle(port: Int, head: String) async throws -> (answer: String, elapsed: Duration) {
        try await onOwnThread {
            // Each wait for an answer is the pause between two body bytes.
            let client = try RawClient(port: port, timeout: 0.1)
            client.send(head)
            let start = ContinuousClock.now
            var received: [UInt8] = []
            for _ in 0..<200 {
                do {
                    guard let bytes = try client.receiveSome() else { break }  // answered and closed
                    received += bytes
                } catch {
                    if !received.isEmpty { continue }  // the rest of the answer, or its close, is coming
                    client.send("x")
                }
            }
            return (String(decoding: received, as: UTF8.self), ContinuousClock.now - start)
        }
    }
}
