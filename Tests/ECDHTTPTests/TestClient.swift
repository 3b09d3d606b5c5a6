import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import ECDHTTP

/// A blocking socket client for tests: sends raw bytes, reads raw responses, with receive and
/// send timeouts so that a server bug fails the test instead of hanging it.
final class TestClient: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []

    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    enum Failure: Error { case connect(Int32), closed, timeout, malformed(String) }

    init(fd: Int32, timeout: Double = 5) {
        self.fd = fd
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // Sends run on the calling (cooperative) thread: bounded too, should a server stop reading.
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    convenience init(port: Int, host: String = "127.0.0.1", timeout: Double = 5) throws {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var rc: Int32
        if v6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &addr.sin6_addr)
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &addr.sin_addr)
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0 else { let e = errno; close(fd); throw Failure.connect(e) }
        self.init(fd: fd, timeout: timeout)
    }

    convenience init(unixPath: String, timeout: Double = 5) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(unixPath.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { let e = errno; close(fd); throw Failure.connect(e) }
        self.init(fd: fd, timeout: timeout)
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }
    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Reads more bytes; false on EOF/reset, throws on timeout.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return true }
        if n == 0 { return false }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure.timeout }
        return false
    }

    /// Reads one response off the cooperative thread pool (a blocked pool thread could starve
    /// the server's deferred tasks in the same process).
    func readResponse(forHead: Bool = false) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            offPool { continuation.resume(with: Result { try self.readResponseBlocking(forHead: forHead) }) }
        }
    }

    /// True when the server closed the connection (EOF or reset) with nothing more to read.
    func isClosedByPeer() async -> Bool {
        await withCheckedContinuation { continuation in
            offPool { continuation.resume(returning: self.isClosedByPeerBlocking()) }
        }
    }

    /// Reads one response (head, then a Content-Length body unless `head` says there is none).
    func readResponseBlocking(forHead: Bool = false) throws -> Response {
        let crlf2: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while true {
            if let r = findSubsequence(crlf2) { end = r; break }
            guard try fill() else { throw Failure.closed }
        }
        let headText = String(decoding: buffer[0..<end!], as: UTF8.self)
        buffer.removeFirst(end! + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure.malformed(statusLine) }
        let headers: [(String, String)] = lines.map {
            let c = $0.firstIndex(of: ":")!
            return (String($0[..<c]), String($0[$0.index(after: c)...]).trimmingCharacters(in: .whitespaces))
        }
        var response = Response(status: status, headers: headers, body: [])
        if status == 100 { return response }
        let length = forHead || status == 204 || status == 304 ? 0 : Int(response.header("Content-Length") ?? "0")!
        while buffer.count < length { guard try fill() else { throw Failure.closed } }
        response.body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return response
    }

    func isClosedByPeerBlocking() -> Bool {
        do { return try !fill() && buffer.isEmpty } catch { return false }
    }

    private func findSubsequence(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for i in 0...(buffer.count - needle.count) where buffer[i] == needle[0] {
            if Array(buffer[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}

/// Runs blocking socket calls on a thread of their own: neither the cooperative pool nor
/// Dispatch's global queues (they share workers on Linux) may be blocked, or the server's
/// deferred tasks in this same process would starve.
func offPool(_ work: @escaping @Sendable () -> Void) {
    Thread { work() }.start()
}

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
    router.getAsync("/throws") { _, _ in
        struct Boom: Error {}
        throw Boom()
    }
    router.get("/context") { _, context in
        .text(.ok, "\(context.listenerName) \(context.peerAddress ?? "-") \(context.requestID)")
    }
    return router
}
