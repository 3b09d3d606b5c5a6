import ECDCEpoll
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The accept side of a server on one loop. Every loop watches the same listening socket with
/// EPOLLEXCLUSIVE, so the kernel wakes one of them per new connection and connections spread
/// over the cores without a hand-off.
final class Listener: EventHandler {
    let fd: Int32
    let core: ServerCore
    unowned let loop: EventLoop
    /// When accepting failed for lack of descriptors: the listener pauses until then (monotonic
    /// ns), since a level-triggered listener that cannot accept would otherwise spin the loop.
    private var pausedUntil: UInt64 = 0

    init(fd: Int32, core: ServerCore, loop: EventLoop) {
        self.fd = fd
        self.core = core
        self.loop = loop
    }

    func handle(events: UInt32) {
        // Accept a bounded batch per wake-up so one busy listener cannot starve the loop's connections.
        for _ in 0..<64 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ecd_accept4(fd, $0, &length) }
            }
            if client < 0 {
                let code = errno
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
                    pausedUntil = MonotonicClock.now() + 100_000_000
                    loop.suspend(fd)
                }
                // EAGAIN: drained. ECONNABORTED and friends: the next wake-up tries again.
                return
            }
            if core.isDraining {
                close(client)
                continue
            }
            let open = core.connectionCount.add(1, ordering: .relaxed).newValue
            if open > core.limits.maxConnections {
                core.connectionCount.subtract(1, ordering: .relaxed)
                Listener.refuse(client)
                if let hook = core.onResponse {
                    // Metrics and logs see refusals too (no request was read).
                    let (host, port) = SocketAddress.describe(&storage)
                    let context = RequestContext(requestID: loop.requestIDs.next(), peerAddress: host, peerPort: port,
                                                 listenerName: core.name)
                    hook(nil, Listener.refusalResponse, context, .zero)
                }
                continue
            }
            if !core.isUnix {
                var one: Int32 = 1
                setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            let (host, port) = SocketAddress.describe(&storage)
            let connection = HTTPConnection(fd: client, core: core, loop: loop, peerAddress: host, peerPort: port)
            connection.start()
        }
    }

    func sweep(now: UInt64) {
        if pausedUntil != 0 && now >= pausedUntil {
            pausedUntil = 0
            loop.resume(fd, events: ecd_EPOLLIN | ecd_EPOLLEXCLUSIVE)
        }
    }

    static let refusalResponse = HTTPError(
        .serviceUnavailable, code: "too_many_connections", message: "too many connections", closeConnection: true
    ).response

    /// The 503 pre-serialized once (no Date: it would be stale, and it is optional, RFC 9110 §6.6.1).
    private static let refusal: [UInt8] = {
        var out: [UInt8] = []
        ResponseSerializer.serialize(
            refusalResponse, framing: .init(isHead: false, keepAlive: false, requestID: "refused"), date: [], into: &out)
        return out
    }()

    /// Over the connection limit: answer 503 in one non-blocking send and close. What the client
    /// already sent is read and dropped first, so closing does not turn into a reset.
    private static func refuse(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 4096)
        _ = recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT))
        _ = refusal.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))
        close(fd)
    }
}
