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
                // Not before the deadline: the client's clock started before the head left it,
                // the server's when the head arrived, so this holds however slow the machine.
                #expect(result.elapsed >= Self.deadline, "\(name): \(result.elapsed)")
                // Cut while the bytes kept coming: a deadline that each byte pushed back would
                // let the whole trickle through unanswered.
                #expect(result.bytesSent < Self.maxBytes, "\(name): \(result.bytesSent) bytes")
            }
        }
    }

    /// Body bytes a trickle sends at most (twenty seconds' worth, ten times the deadline).
    static let maxBytes = 200

    /// Sends `head`, then one body byte every 100 ms (up to `maxBytes`) until the server answers
    /// and closes; returns what it answered, how long after just before the head, and how many
    /// body bytes it had sent.
    static func trickle(port: Int, head: String) async throws -> (answer: String, elapsed: Duration, bytesSent: Int) {
        try await onOwnThread {
            // Each wait for an answer is the pause between two body bytes.
            let client = try RawClient(port: port, timeout: 0.1)
            let start = ContinuousClock.now
            client.send(head)
            var received: [UInt8] = []
            var sent = 0
            // Bounded also when an answer starts but never closes.
            for _ in 0..<(maxBytes * 2) where sent < maxBytes {
                do {
                    guard let bytes = try client.receiveSome() else { break }  // answered and closed
                    received += bytes
                } catch {
                    if !received.isEmpty { continue }  // the rest of the answer, or its close, is coming
                    client.send("x")
                    sent += 1
                }
            }
            return (String(decoding: received, as: UTF8.self), ContinuousClock.now - start, sent)
        }
    }
}
