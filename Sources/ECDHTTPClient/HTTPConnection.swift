import ECDCOpenSSL
import ECDSync
#if canImport(Glibc)
import Glibc
#endif

/// One blocking TCP connection, TLS or plain, to one host. Every blocking call is bounded by the
/// deadline of the exchange using it (`SO_RCVTIMEO`/`SO_SNDTIMEO` armed with the time left; on
/// Linux `SO_SNDTIMEO` bounds `connect` too); `cancel` from any thread shuts the socket down, which
/// ends a blocked call at once (`HTTPClient`'s deadline timer uses it, because a TLS call makes
/// many `recv`s and the socket timeout bounds each, not their sum). Used by one exchange at a time (the pool hands it over).
final class HTTPConnection: @unchecked Sendable {
    // @unchecked: `state` is behind its lock; `ssl` is set once during `open` and then used only by
    // the one exchange holding the connection.
    private struct State { var fd: Int32 = -1; var cancelled = false }
    private let state = Locked(State())
    private var ssl: OpaquePointer?
    private var deadline: ContinuousClock.Instant = .now
    /// When the connection was last returned to the pool (idle connections expire).
    var idleSince: ContinuousClock.Instant = .now

    private var descriptor: Int32 { state.withLock { $0.fd } }

    deinit {
        if let ssl { SSL_free(ssl) }
        let fd = state.withLock { $0.fd }
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// Connects to `host:port` and, with a TLS context, shakes hands verifying the certificate
    /// chain against the context's trust and its name against `host` (SNI sent for names).
    static func open(host: String, port: Int, tls: TLSContext?, deadline: ContinuousClock.Instant,
                     cancellation: ExchangeCancellation) throws(HTTPClientError) -> HTTPConnection {
        let connection = HTTPConnection()
        connection.deadline = deadline
        cancellation.attach(connection)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        // getaddrinfo has no deadline (glibc offers no timeout but resolv.conf's): the caller is
        // answered at the deadline by HTTPClient's timer, and this thread finishes on its own.
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { throw .hostNotFound(host) }
        defer { freeaddrinfo(first) }
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        var connected = false
        while let info = candidate, !connected {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            let adopted = connection.state.withLock { state -> Bool in
                guard !state.cancelled else { return false }
                if state.fd >= 0 { _ = Glibc.close(state.fd) }
                state.fd = fd
                return true
            }
            guard adopted else { _ = Glibc.close(fd); throw .cancelled }
            try connection.armTimeout()
            connected = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0
            if !connected, errno == EAGAIN || errno == EINPROGRESS { throw connection.timedOutOrCancelled() }
        }
        guard connected else { throw connection.isCancelled ? .cancelled : .cannotConnect(host) }
        var one: Int32 = 1
        _ = setsockopt(connection.descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let tls { try connection.handshake(tls, host: host) }
        return connection
    }

    private func handshake(_ tls: TLSContext, host: String) throws(HTTPClientError) {
        guard let ssl = SSL_new(tls.context) else { throw .tls("cannot create a TLS session") }
        self.ssl = ssl
        guard SSL_set_fd(ssl, descriptor) == 1 else { throw .tls("cannot attach the socket") }
        var address = in6_addr()
        if inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1 {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 else { throw .tls("cannot set the expected address") }
        } else {
            guard SSL_set1_host(ssl, host) == 1, ecd_openssl_set_server_name(ssl, host) == 1 else { throw .tls("cannot set the expected name") }
        }
        try armTimeout()
        ERR_clear_error()
        guard SSL_connect(ssl) == 1 else {
            if isCancelled { throw .cancelled }
            if deadline <= .now { throw .timedOut }
            let verify = SSL_get_verify_result(ssl)
            if verify != Int(X509_V_OK) {
                throw .tls("certificate of \(host) refused: " + String(cString: X509_verify_cert_error_string(verify)))
            }
            throw .tls("handshake with \(host) failed")
        }
        guard SSL_get_verify_result(ssl) == Int(X509_V_OK) else { throw .tls("certificate of \(host) refused") }
    }

    /// Bounds the next blocking call by the time left; throws once the deadline has passed.
    private func armTimeout() throws(HTTPClientError) {
        let left = deadline - .now
        guard left > .zero else { throw .timedOut }
        let microseconds = max(1, left.components.seconds * 1_000_000 + left.components.attoseconds / 1_000_000_000_000)
        var value = timeval(tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds % 1_000_000))
        let fd = descriptor
        guard fd >= 0 else { throw .cancelled }
        let size = socklen_t(MemoryLayout<timeval>.size)
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, size) == 0,
              setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, size) == 0 else { throw .connectionLost }
    }

    private var isCancelled: Bool { state.withLock { $0.cancelled } }

    private func timedOutOrCancelled() -> HTTPClientError {
        isCancelled ? .cancelled : .timedOut
    }

    /// Starts an exchange on this connection with its own deadline (a pooled connection is reused).
    func begin(deadline: ContinuousClock.Instant, cancellation: ExchangeCancellation) {
        self.deadline = deadline
        cancellation.attach(self)
    }

    func write(_ bytes: [UInt8]) throws(HTTPClientError) {
        var sent = 0
        while sent < bytes.count {
            try armTimeout()
            let count: Int = bytes[sent...].withUnsafeBytes { buffer in
                if let ssl { return Int(SSL_write(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))) }
                return Glibc.send(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else {
                if errno == EAGAIN || errno == EWOULDBLOCK { throw timedOutOrCancelled() }
                throw isCancelled ? .cancelled : .connectionLost
            }
            sent += count
        }
    }

    /// Reads what is available (at most `buffer.count` bytes); 0 at the end of the stream.
    func read(into buffer: inout [UInt8]) throws(HTTPClientError) -> Int {
        try armTimeout()
        let count: Int = buffer.withUnsafeMutableBytes { raw in
            if let ssl { return Int(SSL_read(ssl, raw.baseAddress, Int32(raw.count))) }
            return Glibc.recv(descriptor, raw.baseAddress, raw.count, 0)
        }
        if count > 0 { return count }
        if isCancelled { throw .cancelled }
        if let ssl {
            // A clean close_notify is the end of the stream; anything else is checked below.
            if SSL_get_error(ssl, Int32(count)) == SSL_ERROR_ZERO_RETURN { return 0 }
        } else if count == 0 {
            return 0
        }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw timedOutOrCancelled() }
        // A TLS peer closing without close_notify: treated as the end of the stream; the framing
        // (Content-Length, chunked) decides whether the response was complete.
        if ssl != nil, count == 0 { return 0 }
        throw .connectionLost
    }

    /// True while an idle connection looks reusable: nothing to read and not closed by the peer.
    var isIdleAndOpen: Bool {
        let fd = descriptor
        guard fd >= 0 else { return false }
        var probe = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        // Readable while idle means the server closed it (or sent something unasked): not reusable.
        return poll(&probe, 1, 0) == 0
    }

    /// Shuts the socket down; a blocked read or write returns at once. Safe from any thread.
    func cancel() {
        state.withLock { state in
            state.cancelled = true
            if state.fd >= 0 { _ = shutdown(state.fd, Int32(SHUT_RDWR)) }
        }
    }
}
