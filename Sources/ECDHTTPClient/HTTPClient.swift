#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import FoundationEssentials
#endif
import Dispatch
import ECDSync

/// The package's HTTP/1.1 client (Cronofy's API, webhook deliveries, the simulator's callbacks,
/// the demo): TLS on OpenSSL with the peer's certificate verified (chain and name), plain http
/// where a URL says so, a hard deadline per exchange, cancellation that ends an exchange at once,
/// and a few idle keep-alive connections per host. No redirects, no cookies, no caches: a 3xx is
/// just a status.
///
/// Why blocking sockets on a thread per exchange, not the epoll loop: outbound calls are few (the
/// request budget bounds Cronofy's; a callback batch is at most 50), so a thread start (tens of
/// µs) is nothing against a network round trip, and blocking TLS (each call bounded by `SO_RCVTIMEO`,
/// the exchange by a timer that shuts its socket at the deadline) stays simple where non-blocking TLS on the loop would need its own state
/// machine. The cooperative pool is never blocked: callers await a continuation the exchange's
/// thread resumes. Replaces URLSession so that the daemon loads neither FoundationNetworking nor
/// libcurl (issue 14, idle memory), and has none of its cancellation deadlocks.
public final class HTTPClient: Sendable {
    /// The trust of this client's https connections: one CA file's, or (nil) the system's, which
    /// is shared by every client and loaded on first use (`TLSContext.system`).
    private let caFileTLS: TLSContext?
    private let usesCAFile: Bool
    private let pool: Locked<[String: [HTTPConnection]]> = Locked([:])
    private let maxIdlePerHost: Int
    private let maxBodyBytes: Int
    /// Idle connections older than this are closed rather than reused: servers drop idle
    /// keep-alive connections after their own timeout (nginx 75 s), and a request written into a
    /// connection the server is closing would be lost.
    static let maxIdle: Duration = .seconds(20)

    /// `caFile`: trust exactly that CA bundle instead of the system's (tests, private CAs).
    public init(caFile: String? = nil, maxIdlePerHost: Int = 4, maxBodyBytes: Int = 8 * 1024 * 1024) {
        caFileTLS = caFile.flatMap { TLSContext(caFile: $0) }
        usesCAFile = caFile != nil
        self.maxIdlePerHost = maxIdlePerHost
        self.maxBodyBytes = maxBodyBytes
    }

    /// Whether `caFile` loads as a trust store (for configuration checks before use).
    public static func canLoad(caFile: String) -> Bool { TLSContext(caFile: caFile) != nil }

    /// Sends `request`; throws only `HTTPClientError` (`.timedOut` after `request.timeout`,
    /// `.cancelled` when the calling task is cancelled).
    public func send(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let target = try Target(request.url)
        let head = try Self.head(request, target: target)
        let deadline = ContinuousClock.now + request.timeout
        let cancellation = ExchangeCancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPClientResponse, any Error>) in
                let answer = ExchangeAnswer(continuation)
                // The hard deadline. The socket timeouts bound each blocking call, but one
                // `SSL_read` or `SSL_connect` makes many `recv`s, and a peer sending a record a
                // byte at a time would hold the exchange well past its deadline; `getaddrinfo`
                // has no bound at all. At the deadline the caller is answered `.timedOut` and the
                // socket is shut, which ends the thread's blocked call (its late outcome is dropped).
                // nonisolated(unsafe): DispatchWorkItem is not marked Sendable, but `cancel` is
                // safe from any thread (an atomic flag the queue checks before running it).
                nonisolated(unsafe) let timer = DispatchWorkItem {
                    answer.resume(with: .failure(HTTPClientError.timedOut))
                    cancellation.cancel()
                }
                DispatchQueue.global().asyncAfter(deadline: .now() + Self.dispatchInterval(request.timeout), execute: timer)
                ExchangeThread.start { [self] in
                    let outcome = Result { () throws(HTTPClientError) -> HTTPClientResponse in
                        try exchange(head + (request.body ?? []), method: request.method, target: target,
                                     deadline: deadline, cancellation: cancellation)
                    }
                    timer.cancel()
                    answer.resume(with: outcome.mapError { $0 as any Error })
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    private static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !nanoseconds.overflow else { return .never }
        return .nanoseconds(Int(max(0, nanoseconds.partialValue + attoseconds / 1_000_000_000)))
    }

    private func exchange(_ bytes: [UInt8], method: String, target: Target, deadline: ContinuousClock.Instant,
                          cancellation: ExchangeCancellation) throws(HTTPClientError) -> HTTPClientResponse {
        if cancellation.isCancelled { throw .cancelled }
        let tls = target.secure ? (usesCAFile ? caFileTLS : TLSContext.system) : nil
        if target.secure, tls == nil { throw .tls("no trust store loaded") }
        let connection: HTTPConnection
        if let idle = takeIdle(target.key) {
            connection = idle
            connection.begin(deadline: deadline, cancellation: cancellation)
        } else {
            connection = try HTTPConnection.open(host: target.host, port: target.port, tls: tls,
                                                 deadline: deadline, cancellation: cancellation)
        }
        try connection.write(bytes)
        var reader = HTTPResponseReader(connection: connection, maxBodyBytes: maxBodyBytes)
        let (response, reusable) = try reader.read(method: method)
        if reusable, cancellation.detach() { putIdle(connection, key: target.key) }
        return response
    }

    private func takeIdle(_ key: String) -> HTTPConnection? {
        let now = ContinuousClock.now
        while let candidate = pool.withLock({ $0[key]?.popLast() }) {
            if now - candidate.idleSince < Self.maxIdle, candidate.isIdleAndOpen { return candidate }
        }
        return nil
    }

    private func putIdle(_ connection: HTTPConnection, key: String) {
        connection.idleSince = .now
        pool.withLock { pool in
            guard pool[key, default: []].count < maxIdlePerHost else { return }
            pool[key, default: []].append(connection)
        }
    }

    /// The request line and header fields; `Host` and `Content-Length` are set here.
    static func head(_ request: HTTPClientRequest, target: Target) throws(HTTPClientError) -> [UInt8] {
        func clean(_ text: String) -> Bool { !text.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 } }
        guard !request.method.isEmpty, request.method.utf8.allSatisfy({ (65...90).contains($0) }) else {
            throw .invalidRequest("method")
        }
        var text = "\(request.method) \(target.pathAndQuery) HTTP/1.1\r\nHost: \(target.hostHeader)\r\n"
        for (name, value) in request.headers {
            let lower = name.lowercased()
            guard !name.isEmpty, clean(name), clean(value), !name.contains(":") else { throw .invalidRequest("header field") }
            guard lower != "host", lower != "content-length", lower != "transfer-encoding" else { continue }
            text += "\(name): \(value)\r\n"
        }
        if let body = request.body {
            text += "Content-Length: \(body.count)\r\n"
        } else if ["POST", "PUT", "PATCH"].contains(request.method) {
            text += "Content-Length: 0\r\n"
        }
        return Array((text + "\r\n").utf8)
    }

    /// Where a URL points: scheme, host, port, and the request target.
    struct Target {
        let secure: Bool
        let host: String
        let port: Int
        let hostHeader: String
        let pathAndQuery: String
        var key: String { "\(secure ? "https" : "http")://\(hostHeader)" }

        init(_ url: URL) throws(HTTPClientError) {
            guard let components = URLComponents(url: url, resolvingAgainstBaseURL: false),
                  let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  var host = components.host, !host.isEmpty else { throw .invalidRequest("URL") }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            secure = scheme == "https"
            self.host = host
            port = components.port ?? (secure ? 443 : 80)
            let bracketed = host.contains(":") ? "[\(host)]" : host
            hostHeader = bracketed + (components.port.map { ":\($0)" } ?? "")
            let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            pathAndQuery = path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
            guard !pathAndQuery.utf8.contains(where: { $0 <= 32 || $0 == 127 }) else { throw .invalidRequest("URL") }
        }
    }
}
