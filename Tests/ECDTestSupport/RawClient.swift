import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The tests' one raw HTTP/1.1 client: a plain socket that sends exactly the bytes it is given
/// (so tests can send what URLSession would refuse to: oversized or malformed bodies, odd
/// headers, a body a byte at a time) and parses what comes back. Both directions have timeouts,
/// so a server bug fails the test instead of hanging it. The blocking reads run on a thread of
/// their own (`onOwnThread`), never on the cooperative pool the servers under test need.
public final class RawClient: @unchecked Sendable {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public enum Failure: Error, Equatable { case connect(Int32), closed, timeout, malformed(String) }

    /// Takes over a connected socket (a socketpair's end, say).
    public init(fd: Int32, timeout: Double = 5) {
        self.fd = fd
        setTimeout(timeout)
    }

    public convenience init(_ address: SocketAddress, timeout: Double = 5) throws {
        do {
            self.init(fd: try address.connect(), timeout: timeout)
        } catch let failure as SocketAddress.Failure {
            throw Failure.connect(failure.errno)
        }
    }

    public convenience init(port: Int, host: String = "127.0.0.1", timeout: Double = 5) throws {
        try self.init(.tcp(port: port, host: host), timeout: timeout)
    }

    public convenience init(unixPath: String, timeout: Double = 5) throws {
        try self.init(.unix(path: unixPath), timeout: timeout)
    }

    deinit { close(fd) }

    /// Bounds each receive and each send (sends run on the calling thread: bounded too, should
    /// a server stop reading).
    public func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    /// Sends what the server takes; stops early when it stopped reading (it may answer 413 and
    /// close before the whole body is in).
    public func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Reads more bytes; false on EOF/reset, throws on timeout.
    private func fill() throws(Failure) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return true }
        if n == 0 { return false }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw .timeout }
        return false
    }

    /// Whatever arrives next: bytes, nil at EOF; throws `.timeout` when nothing came in time.
    public func receiveSome() throws(Failure) -> [UInt8]? {
        guard try fill() else { return nil }
        defer { buffer.removeAll() }
        return buffer
    }

    /// Reads one response off the cooperative thread pool.
    public func readResponse(forHead: Bool = false) async throws -> RawResponse {
        try await onOwnThread { () throws(Failure) -> RawResponse in try self.readResponseBlocking(forHead: forHead) }
    }

    /// True when the server closed the connection (EOF or reset) with nothing more to read.
    public func isClosedByPeer() async -> Bool {
        await onOwnThread { self.isClosedByPeerBlocking() }
    }

    public func isClosedByPeerBlocking() -> Bool {
        do { return try !fill() && buffer.isEmpty } catch { return false }
    }

    /// Reads one response: the head, then a `Content-Length` body (none for HEAD, 1xx, 204, 304);
    /// with `untilClose`, a body without a length runs to EOF (a `Connection: close` answer).
    public func readResponseBlocking(forHead: Bool = false, untilClose: Bool = false) throws(Failure) -> RawResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        var end: Int
        while true {
            if let found = buffer.firstRange(of: separator) { end = found.lowerBound; break }
            guard try fill() else { throw .closed }
        }
        let headText = String(decoding: buffer[0..<end], as: UTF8.self)
        buffer.removeFirst(end + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw .malformed(statusLine) }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw .malformed(line) }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = RawResponse(status: status, headers: headers, body: [])
        if (100..<200).contains(status) || forHead || status == 204 || status == 304 { return response }
        if let declared = response.header("Content-Length") {
            guard let length = Int(declared) else { throw .malformed("Content-Length: \(declared)") }
            while buffer.count < length { guard try fill() else { throw .closed } }
            response.body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else if untilClose {
            while try fill() {}
            response.body = buffer
            buffer.removeAll()
        }
        return response
    }
}

/// One request per connection (`Connection: close`), answered and closed: the form most route
/// tests want.
public enum RawHTTP {
    /// A test's own failure with a message (a daemon that did not start, an unexpected answer).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public static func send(_ address: SocketAddress, _ method: String, _ target: String,
                            headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> RawResponse {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return try await exchange(address, Array(head.utf8) + (body ?? []))
    }

    /// Sends raw bytes and reads the answer up to the server's close; bounded at 20 s each way.
    public static func exchange(_ address: SocketAddress, _ bytes: [UInt8]) async throws -> RawResponse {
        try await onOwnThread {
            let client = try RawClient(address, timeout: 20)
            client.send(bytes)
            return try client.readResponseBlocking(forHead: bytes.starts(with: Array("HEAD ".utf8)), untilClose: true)
        }
    }
}
