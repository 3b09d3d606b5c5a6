import ECDCEpoll
import ECDSync
import FoundationEssentials
import Synchronization
import Glibc

/// Something a loop watches: a listening socket or a connection. Only ever called on its loop's thread.
protocol EventHandler: AnyObject {
    func handle(events: UInt32)
    /// Called on every timer sweep with the monotonic time in nanoseconds.
    func sweep(now: UInt64)
}

/// One thread running `epoll_wait` and everything its sockets need: reading, parsing, calling the
/// responder and writing happen here, with no hop to another thread on the synchronous path.
/// Other threads talk to a loop only through `execute`, which queues a job and wakes it.
final class EventLoop: @unchecked Sendable {
    let index: Int
    let epollFD: Int32
    private let wakeFD: Int32
    private static let wakeToken = UInt64.max

    /// Handlers by file descriptor (descriptors are small integers, so an array is the fastest map).
    private var handlers: [EventHandler?] = []
    /// Registration number of each descriptor, carried in the epoll token next to the descriptor:
    /// an event that was already queued for a closed connection must not reach a new connection
    /// that got the same descriptor number within the same batch.
    private var generations: [UInt32] = []
    private var generation: UInt32 = 0
    private let inbox = Locked<[@Sendable () -> Void]>([])
    /// At most 1 s; servers lower it to a quarter of their shortest timeout (`requireSweepInterval`).
    private var sweepIntervalNanos: UInt64 = 1_000_000_000
    private var nextSweep: UInt64 = 0
    private let sweepOverride = Atomic<UInt64>(0)

    /// Scratch space shared by all connections of this loop: reads land here and responses are
    /// serialized here, so an idle connection holds no buffers of its own.
    let readBuffer: UnsafeMutableRawBufferPointer
    var writeBuffer: [UInt8] = []
    var requestIDs: RequestIDGenerator
    var dateCache = HTTPDateCache()
    /// What the turn's synchronous handlers staged, committed after the turn's events.
    let turn = LoopTurn()

    init(index: Int) {
        self.index = index
        epollFD = ecd_epoll_create()
        wakeFD = ecd_eventfd()
        precondition(epollFD >= 0 && wakeFD >= 0, "epoll_create1/eventfd failed: errno \(errno)")
        _ = ecd_epoll_add(epollFD, wakeFD, ecd_EPOLLIN, EventLoop.wakeToken)
        readBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
        writeBuffer.reserveCapacity(16 * 1024)
        requestIDs = RequestIDGenerator(loopIndex: index)
    }

    /// Starts the loop's thread. Called once by the group.
    func start() {
        OSThread.start(name: "ecd-http-\(index)") { [self] in self.run() }
    }

    // MARK: Registration (loop thread only)

    func register(_ fd: Int32, _ handler: EventHandler, events: UInt32) -> Bool {
        let i = Int(fd)
        if i >= handlers.count {
            let grow = max(i + 1 - handlers.count, 1024)
            handlers.append(contentsOf: repeatElement(nil, count: grow))
            generations.append(contentsOf: repeatElement(0, count: grow))
        }
        generation &+= 1
        guard ecd_epoll_add(epollFD, fd, events, token(fd, generation)) == 0 else { return false }
        handlers[i] = handler
        generations[i] = generation
        return true
    }

    @inline(__always)
    private func token(_ fd: Int32, _ generation: UInt32) -> UInt64 {
        UInt64(UInt32(bitPattern: fd)) | UInt64(generation) << 32
    }

    func modify(_ fd: Int32, events: UInt32) {
        _ = ecd_epoll_mod(epollFD, fd, events, token(fd, generations[Int(fd)]))
    }

    /// Stops watching `fd` but keeps its handler (and its sweeps). EPOLL_CTL_MOD cannot be used on
    /// a descriptor added with EPOLLEXCLUSIVE, hence delete and re-add.
    func suspend(_ fd: Int32) {
        _ = ecd_epoll_del(epollFD, fd)
    }

    func resume(_ fd: Int32, events: UInt32) {
        _ = ecd_epoll_add(epollFD, fd, events, token(fd, generations[Int(fd)]))
    }

    func deregister(_ fd: Int32) {
        _ = ecd_epoll_del(epollFD, fd)
        if Int(fd) < handlers.count { handlers[Int(fd)] = nil }
    }

    /// Every registered handler (for draining and forced close at shutdown).
    func allHandlers() -> [EventHandler] { handlers.compactMap { $0 } }

    /// Makes sweeps at least this frequent (short timeouts in tests, 5 ms at the finest).
    func requireSweepInterval(_ nanos: UInt64) {
        let wanted = max(nanos, 5_000_000)
        while true {
            let current = sweepOverride.load(ordering: .relaxed)
            if current != 0 && current <= wanted { return }
            if sweepOverride.compareExchange(expected: current, desired: wanted, ordering: .relaxed).exchanged { break }
        }
        execute {}
    }

    // MARK: Cross-thread

    /// Runs `job` on the loop's thread, soon. Safe from any thread.
    func execute(_ job: @escaping @Sendable () -> Void) {
        let wasEmpty = inbox.withLock { jobs in
            jobs.append(job)
            return jobs.count == 1
        }
        if wasEmpty {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
    }

    /// Runs `job` on the loop's thread and waits for its result.
    func submit<T: Sendable>(_ job: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            execute { continuation.resume(returning: job()) }
        }
    }

    private func drainInbox() {
        var counter: UInt64 = 0
        _ = Glibc.read(wakeFD, &counter, 8)
        let jobs = inbox.withLock { jobs in
            let taken = jobs
            jobs.removeAll(keepingCapacity: true)
            return taken
        }
        for job in jobs { job() }
    }

    // MARK: The loop

    private func run() {
        let maxEvents: Int32 = 256
        let events = UnsafeMutablePointer<UInt32>.allocate(capacity: Int(maxEvents))
        let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: Int(maxEvents))
        nextSweep = MonotonicClock.now() + sweepIntervalNanos
        while true {
            let override = sweepOverride.load(ordering: .relaxed)
            if override != 0 && override < sweepIntervalNanos {
                sweepIntervalNanos = override
                nextSweep = min(nextSweep, MonotonicClock.now() + sweepIntervalNanos)
            }
            let now = MonotonicClock.now()
            let timeout = nextSweep > now ? Int32(min((nextSweep - now) / 1_000_000 + 1, 1000)) : 0
            let n = ecd_epoll_wait(epollFD, events, tokens, maxEvents, timeout)
            if n < 0 {
                if errno == EINTR { continue }
                fatalError("epoll_wait failed: errno \(errno)")
            }
            for i in 0..<Int(n) {
                let token = tokens[i]
                if token == EventLoop.wakeToken {
                    drainInbox()
                    continue
                }
                let fd = Int(token & 0xFFFF_FFFF)
                // A handler closed by an earlier event of this batch is gone, or replaced by a new
                // registration of the same descriptor: its stale event is dropped.
                guard fd < handlers.count, let handler = handlers[fd], generations[fd] == UInt32(token >> 32) else { continue }
                handler.handle(events: events[i])
            }
            turn.finish()
            let after = MonotonicClock.now()
            if after >= nextSweep {
                nextSweep = after + sweepIntervalNanos
                for handler in handlers { handler?.sweep(now: after) }
            }
        }
    }
}

/// The loops all servers of the process share: one per core, started on first use.
final class EventLoopGroup: Sendable {
    /// One loop per CPU the process may run on (its affinity mask, not the machine's count: a
    /// server pinned to one core gains nothing from a second loop but context switches).
    static let shared: EventLoopGroup = {
        let allowed = Int(ecd_allowed_cpu_count())
        let cpus = allowed > 0 ? allowed : ProcessInfo.processInfo.activeProcessorCount
        return EventLoopGroup(count: max(1, min(cpus, 8)))
    }()

    let loops: [EventLoop]
    private let next = Atomic<Int>(0)

    init(count: Int) {
        loops = (0..<count).map { EventLoop(index: $0) }
        for loop in loops { loop.start() }
    }

    func nextLoop() -> EventLoop {
        loops[next.add(1, ordering: .relaxed).oldValue % loops.count]
    }
}

enum MonotonicClock {
    @inline(__always)
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func nanos(_ d: Duration) -> UInt64 {
        let (s, a) = d.components
        if s < 0 { return 0 }
        return UInt64(s) * 1_000_000_000 + UInt64(a / 1_000_000_000)
    }
}
