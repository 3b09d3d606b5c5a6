import ECDCOpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Callbacks to `https` URLs over a TLS client that trusts exactly the certificates of one CA
/// file (`--callback-ca-file`), so that a test can receive them through a TLS server holding a
/// private certificate, as Cronofy's reach a deployment, without touching the machine's trust store.
///
/// Why not URLSession: on Linux, FoundationNetworking hands libcurl the system CA bundle and offers
/// no per-session or per-process override (swift-corelibs-foundation reads
/// `URLSessionCertificateAuthorityInfoFile` only `#if os(Android)`, in `EasyHandle.setCARootBundlePath`;
/// libcurl ignores `CURL_CA_BUNDLE` and `SSL_CERT_FILE`; all three were tried against a
/// self-signed server). So this one request shape — POST, `Connection: close`, read the status
/// line — is spoken directly over OpenSSL. `http` URLs still go through URLSession.
final class CAFileCallbackTransport: CallbackTransport, @unchecked Sendable {
    // @unchecked: `context` is configured in init and only read afterwards; OpenSSL allows a
    // configured SSL_CTX to be shared by connections on any thread.
    private let context: OpaquePointer?
    private let plain: URLSessionCallbackTransport

    /// A file that does not load leaves no trust at all: every https callback then fails (it never
    /// falls back to the system's trust store). `SimulatorConfiguration(arguments:)` checks the
    /// file with `canLoad` first.
    init(caFile: String, plain: URLSessionCallbackTransport = URLSessionCallbackTransport()) {
        context = Self.makeContext(caFile: caFile)
        self.plain = plain
    }

    deinit { if let context { SSL_CTX_free(context) } }

    static func canLoad(caFile: String) -> Bool {
        guard let context = makeContext(caFile: caFile) else { return false }
        SSL_CTX_free(context)
        return true
    }

    private static func makeContext(caFile: String) -> OpaquePointer? {
        guard let context = SSL_CTX_new(TLS_client_method()) else { return nil }
        guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1, ecd_openssl_require_tls12(context) == 1 else {
            SSL_CTX_free(context)
            return nil
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        return context
    }

    func post(url: String, body: [UInt8], headers: [(String, String)], timeout: Duration) async -> Int? {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "https",
              let host = components.host, !host.isEmpty else {
            return await plain.post(url: url, body: body, headers: headers, timeout: timeout)
        }
        let port = components.port ?? 443
        let path = (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath)
            + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let hostHeader = (host.contains(":") ? "[\(host)]" : host) + (components.port.map { ":\($0)" } ?? "")
        var head = "POST \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        let connection = BlockingConnection(deadline: .now + timeout)
        // The exchange blocks in connect/SSL_read: a thread of its own, never the cooperative pool.
        // Cancellation (the simulator shutting down) shuts the socket down, which ends it at once.
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
                Thread.detachNewThread { [self] in
                    continuation.resume(returning: exchange(connection, host: host, port: port, request: request))
                }
            }
        } onCancel: {
            connection.cancel()
        }
    }

    private func exchange(_ connection: BlockingConnection, host: String, port: Int, request: [UInt8]) -> Int? {
        defer { connection.close() }
        guard let context, connection.connect(host: host, port: port), let ssl = SSL_new(context) else { return nil }
        defer { SSL_free(ssl) }
        guard SSL_set_fd(ssl, connection.descriptor) == 1 else { return nil }
        // Check the certificate's name against the host: its IP address SAN, or its DNS name (and
        // send that name as SNI).
        var address = in6_addr()
        let isAddress = inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
        if isAddress {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 else { return nil }
        } else {
            guard SSL_set1_host(ssl, host) == 1, ecd_openssl_set_server_name(ssl, host) == 1 else { return nil }
        }
        guard connection.armTimeout(), SSL_connect(ssl) == 1, SSL_get_verify_result(ssl) == Int(X509_V_OK) else { return nil }
        var sent = 0
        while sent < request.count {
            guard connection.armTimeout() else { return nil }
            let written = request[sent...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            guard written > 0 else { return nil }
            sent += Int(written)
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while received.count < 16_384, !received.contains(UInt8(ascii: "\n")) {
            guard connection.armTimeout() else { return nil }
            let count = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            guard count > 0 else { break }
            received += chunk[..<Int(count)]
        }
        // "HTTP/1.1 200 OK": the status is the second token of the first line.
        let line = String(decoding: received.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else { return nil }
        return status
    }
}

/// One blocking TCP socket with an overall deadline, which another thread may cancel.
private final class BlockingConnection: @unchecked Sendable {
    // @unchecked: `fd` and `cancelled` are guarded by `lock`.
    private let lock = NSLock()
    private var fd: Int32 = -1
    private var cancelled = false
    let deadline: ContinuousClock.Instant

    init(deadline: ContinuousClock.Instant) { self.deadline = deadline }

    var descriptor: Int32 { lock.withLock { fd } }

    func connect(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return false }
        defer { freeaddrinfo(first) }
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let socketFD = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard socketFD >= 0 else { continue }
            let adopted = lock.withLock { () -> Bool in
                guard !cancelled else { return false }
                fd = socketFD
                return true
            }
            guard adopted else { Glibc.close(socketFD); return false }
            // On Linux SO_SNDTIMEO bounds connect() too.
            if armTimeout(), Glibc.connect(socketFD, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return true }
            close()
        }
        return false
    }

    /// Bounds the next blocking call by the time left; false once the deadline has passed.
    func armTimeout() -> Bool {
        let left = deadline - .now
        guard left > .zero else { return false }
        let microseconds = max(1, left.components.seconds * 1_000_000 + left.components.attoseconds / 1_000_000_000_000)
        var value = timeval(tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds % 1_000_000))
        let socketFD = descriptor
        guard socketFD >= 0 else { return false }
        let size = socklen_t(MemoryLayout<timeval>.size)
        return setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &value, size) == 0
            && setsockopt(socketFD, SOL_SOCKET, SO_SNDTIMEO, &value, size) == 0
    }

    func cancel() {
        lock.withLock {
            cancelled = true
            if fd >= 0 { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    func close() {
        lock.withLock {
            if fd >= 0 { _ = Glibc.close(fd) }
            fd = -1
        }
    }
}
