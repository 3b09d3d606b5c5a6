import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 server on loopback TCP or a unix socket, for testing HTTP clients over
/// real sockets: each scripted reply serves one connection, in order, and every raw request is
/// recorded. A `nil` reply accepts the connection and never answers (for timeouts).
public final class CannedHTTPServer: @unchecked Sendable {
    public let port: Int
    public let socketPath: String?
    private let listener: Int32
    private let lock = NSLock()
    private var recorded: [String] = []
    private var held: [Int32] = []
    private var stopped = false

    public init(replies: [String?], unixPath: String? = nil) throws {
        socketPath = unixPath
        let address: SocketAddress = unixPath.map { .unix(path: $0) } ?? .tcp(port: 0)
        (listener, port) = try address.listen()
        Thread { [self] in serve(replies) }.start()
    }

    /// One connection answered with `response`.
    public convenience init(response: String, unixPath: String? = nil) throws {
        try self.init(replies: [response], unixPath: unixPath)
    }

    public var requests: [String] { lock.withLock { recorded } }
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// The first raw request, once it is in ("" when none arrived within 10 s); then stops the
    /// server. Polls with `Task.sleep` rather than blocking a cooperative thread.
    public func request() async -> String {
        _ = await eventually { !requests.isEmpty }
        stop()
        return requests.first ?? ""
    }

    /// Closes the listener (which also ends an accept() still waiting for a client that never
    /// came) and any connection held open for a timeout test.
    public func stop() {
        let (wasStopped, open) = lock.withLock { () -> (Bool, [Int32]) in
            defer { stopped = true; held = [] }
            return (stopped, held)
        }
        guard !wasStopped else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in open { close(fd) }
        if let socketPath { unlink(socketPath) }
    }

    public static func response(status: String, json: String) -> String {
        "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
    }

    private func serve(_ replies: [String?]) {
        for reply in replies {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            let request = Self.readRequest(connection)
            lock.withLock { recorded.append(request) }
            guard let reply else {
                lock.withLock { held.append(connection) }
                continue
            }
            let bytes = Array(reply.utf8)
            _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(connection)
        }
    }

    /// The head and its `Content-Length` body, or whatever came before the client's EOF.
    private static func readRequest(_ fd: Int32) -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
            guard let end = data.firstRange(of: [13, 10, 13, 10]) else { continue }
            let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
            let length = head.split(separator: "\r\n")
                .first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            if data.count - end.upperBound >= length { break }
        }
        return String(decoding: data, as: UTF8.self)
    }
}
