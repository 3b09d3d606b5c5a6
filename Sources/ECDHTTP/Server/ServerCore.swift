import Synchronization

/// What every connection of one server shares: settings converted once, the responder, and the
/// counters shutdown and the connection limit need. Immutable apart from the atomics.
final class ServerCore: Sendable {
    let name: String
    let limits: HTTPLimits
    let responder: any HTTPResponder
    let onResponse: (@Sendable (HTTPRequest?, HTTPResponse, RequestContext, Duration) -> Void)?
    let drainingResponse: HTTPResponse?
    let headHook: HTTPHeadHook?
    let isUnix: Bool

    let headerTimeout: UInt64
    let bodyTimeout: UInt64
    let idleTimeout: UInt64
    let writeTimeout: UInt64
    /// How long a closing connection keeps reading (and dropping) what the peer still sends, so
    /// that the kernel does not answer it with a reset that destroys our last response.
    let lingerTimeout: UInt64

    let connectionCount = Atomic<Int>(0)
    let draining = Atomic<Bool>(false)
    /// Request body bytes charged by the connections right now (`HTTPLimits.maxBufferedBodyBytes`).
    let bufferedBodyBytes = Atomic<Int>(0)

    init(configuration: HTTPServerConfiguration, responder: any HTTPResponder) {
        name = configuration.name
        limits = configuration.limits
        self.responder = responder
        onResponse = configuration.onResponse
        drainingResponse = configuration.drainingResponse
        headHook = configuration.headHook
        if case .unix = configuration.listen { isUnix = true } else { isUnix = false }
        headerTimeout = MonotonicClock.nanos(limits.headerReadTimeout)
        bodyTimeout = MonotonicClock.nanos(limits.bodyReadTimeout)
        idleTimeout = MonotonicClock.nanos(limits.keepAliveIdleTimeout)
        writeTimeout = MonotonicClock.nanos(limits.writeTimeout)
        lingerTimeout = min(2_000_000_000, max(headerTimeout, 100_000_000))
    }

    /// The sweep period the loops need so that the shortest timeout fires within ~25% of its value.
    var sweepInterval: UInt64 {
        min(headerTimeout, bodyTimeout, idleTimeout, writeTimeout, lingerTimeout) / 4
    }

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Charges `bytes` to the body budget; false (and nothing charged) when it would be exceeded.
    func reserveBody(_ bytes: Int) -> Bool {
        let total = bufferedBodyBytes.add(bytes, ordering: .relaxed).newValue
        guard total > limits.maxBufferedBodyBytes else { return true }
        bufferedBodyBytes.subtract(bytes, ordering: .relaxed)
        return false
    }

    func releaseBody(_ bytes: Int) {
        bufferedBodyBytes.subtract(bytes, ordering: .relaxed)
    }
}
