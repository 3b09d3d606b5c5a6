import ECDCEpoll
#if canImport(Glibc)
import ECDSync
import Glibc
#else
import Darwin
#endif

/// An HTTP/1.1 server on one listening address.
///
/// Connections are served by the process-wide event loops (one thread per core, epoll driven):
/// a request is read, parsed, handled and answered on its loop's thread; only `.deferred`
/// results leave it, for a Swift concurrency task.
public final class HTTPServer: Sendable {
    private struct State {
        var fd: Int32 = -1
        var bound: ListenAddress?
        /// The unix socket file to remove at shutdown (`BoundListener.socketFile`).
        var socketFile: String?
        var started = false
        var stopped = false
    }

    public let configuration: HTTPServerConfiguration
    let core: ServerCore
    let group: EventLoopGroup
    private let state = Locked(State())

    public init(configuration: HTTPServerConfiguration, responder: any HTTPResponder) {
        self.configuration = configuration
        core = ServerCore(configuration: configuration, responder: responder)
        group = .shared
    }

    /// Binds and listens; connections are accepted from now on.
    public func start() throws(HTTPServerError) {
        try start(on: try BoundListener(configuration.listen, unixSocketMode: configuration.unixSocketMode))
    }

    /// Serves `listener`, bound earlier (or inherited); connections are accepted from now on. The
    /// unix socket file it created, if any, is removed at shutdown.
    public func start(on listener: BoundListener) throws(HTTPServerError) {
        let fd = try state.withLock { state throws(HTTPServerError) -> Int32 in
            guard !state.started, let fd = listener.take() else { throw .alreadyStarted }
            state.started = true
            state.fd = fd
            state.bound = listener.address
            state.socketFile = listener.socketFile
            return fd
        }
        let core = self.core
        for loop in group.loops {
            loop.requireSweepInterval(core.sweepInterval)
            loop.execute {
                _ = loop.register(fd, Listener(fd: fd, core: core, loop: loop), events: ecd_EPOLLIN | ecd_EPOLLEXCLUSIVE)
            }
        }
    }

    /// The address actually bound (with the real port after binding port 0).
    public var boundAddress: ListenAddress {
        state.withLock { $0.bound } ?? configuration.listen
    }

    /// The bound TCP port; 0 for unix sockets.
    public var port: Int {
        if case .tcp(_, let port) = boundAddress { return port }
        return 0
    }

    /// Open connections right now.
    public var connectionCount: Int { core.connectionCount.load(ordering: .relaxed) }

    /// Request body bytes charged to the budget right now, across all connections
    /// (`HTTPLimits.maxBufferedBodyBytes`).
    public var bufferedBodyBytes: Int { core.bufferedBodyBytes.load(ordering: .relaxed) }

    /// Stop accepting, let in-flight requests finish up to `deadline`, close idle connections;
    /// whatever is still open at the deadline is closed. Removes the unix socket file.
    @discardableResult
    public func shutdown(deadline: Duration) async -> DrainReport {
        let (fd, socketFile) = state.withLock { state -> (Int32, String?) in
            guard state.started && !state.stopped else { return (-1, nil) }
            state.stopped = true
            return (state.fd, state.socketFile)
        }
        guard fd >= 0 else { return DrainReport(cut: []) }
        let core = self.core
        let end = ContinuousClock.now + deadline
        core.draining.store(true, ordering: .relaxed)
        for loop in group.loops {
            await loop.submit {
                loop.deregister(fd)
                for case let connection as HTTPConnection in loop.allHandlers() where connection.core === core {
                    connection.drain()
                }
            }
        }
        close(fd)
        if let socketFile { unlink(socketFile) }

        while core.connectionCount.load(ordering: .relaxed) > 0 && ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(5))
        }
        guard core.connectionCount.load(ordering: .relaxed) > 0 else { return DrainReport(cut: []) }
        var cut: [String] = []
        for loop in group.loops {
            cut += await loop.submit {
                var cutHere: [String] = []
                for case let connection as HTTPConnection in loop.allHandlers() where connection.core === core {
                    cutHere.append(connection.handlingRequest ?? "(a request not fully received or sent)")
                    connection.closeNow()
                }
                return cutHere
            }
        }
        return DrainReport(cut: cut)
    }

    /// Returns once every event loop has run a job: a loop stuck in a handler never returns, which
    /// is what a supervisor's watchdog wants to notice.
    public func loopsAnswer() async {
        for loop in group.loops { await loop.submit {} }
    }

    /// Serves an already-connected socket (tests drive connections over a socketpair this way).
    func serve(connectedSocket fd: Int32) {
        let core = self.core
        let loop = group.nextLoop()
        core.connectionCount.add(1, ordering: .relaxed)
        loop.requireSweepInterval(core.sweepInterval)
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        loop.execute {
            HTTPConnection(fd: fd, core: core, loop: loop, peerAddress: nil, peerPort: nil).start()
        }
    }
}

/// What a drain left unfinished: `METHOD path` of each connection closed at the deadline.
public struct DrainReport: Sendable, Equatable {
    public var cut: [String]
}
