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
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try trickleBlocking(port: port, head: head) })
            }.start()
        }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    private static func trickleBlocking(port: Int, head: String) throws -> (answer: String, elapsed: Duration) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to port \(port): errno \(errno)") }
        // Each wait for an answer is the pause between two body bytes.
        var pause = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &pause, socklen_t(MemoryLayout<timeval>.size))
        let headBytes = Array(head.utf8)
        _ = headBytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let start = ContinuousClock.now
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<200 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received.append(contentsOf: buffer[0..<n])
                continue
            }
            if n == 0 { break }  // answered and closed
            if !received.isEmpty { continue }  // the rest of the answer, or its close, is coming
            var byte: UInt8 = UInt8(ascii: "x")
            _ = send(fd, &byte, 1, Int32(MSG_NOSIGNAL))
        }
        return (String(decoding: received, as: UTF8.self), ContinuousClock.now - start)
    }
}
