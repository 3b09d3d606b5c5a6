import Dispatch
import ECDCLibPQ
import FoundationEssentials
import ECDSync

/// A bounded pool of PostgreSQL connections. At most `poolSize` connections exist; a borrower
/// beyond that waits (first come, first served) up to `borrowTimeout`. Connections open lazily,
/// are checked for life before being lent, and are dropped (never lent again) when broken.
///
/// When the server goes away, lent connections fail with `.unavailable`, idle ones are found
/// dead at the next borrow and replaced, and a failed connection attempt starts a backoff during
/// which borrowers fail at once instead of waiting: callers see a fast typed error, never a hang.
public final class PostgresPool: @unchecked Sendable {
    public let configuration: PostgresConfiguration

    /// What a borrower gets: a live connection, or the right to open one (a counted slot).
    enum Lease {
        case connection(ConnectionHandle)
        case slot
    }

    /// A borrower waiting for a lease. `deliver` is called exactly once, outside the lock.
    final class Waiter: @unchecked Sendable {
        let deliver: (Result<Lease, PostgresError>) -> Void
        init(_ deliver: @escaping (Result<Lease, PostgresError>) -> Void) { self.deliver = deliver }
    }

    /// The backends of this pool's open connections (`isOwnBackend`).
    let backends = BackendRegistry()

    private let lock = Lock()
    // Guarded by `lock`:
    private var idle: [ConnectionHandle] = []
    private var opened = 0            // connections that exist or are being opened: ≤ poolSize
    private var waiters: [Waiter] = []
    private var isClosed = false
    private var failures = 0
    private var nextAttempt: ContinuousClock.Instant?

    /// Where blocking libpq work of the async API runs; at most `poolSize` items block at once
    /// (one per lent connection), so it never floods the cooperative thread pool.
    let workQueue = DispatchQueue(label: "ecd.postgres.pool", attributes: .concurrent)

    /// Makes the pool; no connection is opened until the first borrow.
    public init(_ configuration: PostgresConfiguration) {
        self.configuration = configuration
    }

    /// Connections currently open or being opened (for tests and metrics).
    public var openConnections: Int { lock.withLock { opened } }

    /// Borrowers waiting for a connection (for tests and metrics).
    public var waitingBorrowers: Int { lock.withLock { waiters.count } }

    /// Drops idle connections and fails waiters; lent connections close when they come back.
    public func close() {
        let (dropped, failed): ([ConnectionHandle], [Waiter]) = lock.withLock {
            isClosed = true
            defer { idle = []; waiters = [] }
            opened -= idle.count
            return (idle, waiters)
        }
        _ = dropped   // released here: each handle's deinit calls PQfinish
        failed.forEach { $0.deliver(.failure(.misuse("the connection pool is closed"))) }
    }

    // MARK: - Borrowing (blocking)

    /// A live connection, waiting up to `borrowTimeout` for one to be free.
    func checkout() throws -> ConnectionHandle {
        try ready(acquire(until: ContinuousClock.now + configuration.borrowTimeout))
    }

    /// Turns a lease into a live connection: a dead lent-back connection's slot is reused to open
    /// a fresh one. Blocking (it may connect).
    func ready(_ lease: Lease) throws -> ConnectionHandle {
        switch lease {
        case .connection(let handle):
            if handle.isAlive() { return handle }
            return try open()   // the dead handle is released here; its slot is ours
        case .slot:
            return try open()
        }
    }

    private func acquire(until deadline: ContinuousClock.Instant) throws -> Lease {
        final class Box: @unchecked Sendable {
            let signal = DispatchSemaphore(value: 0)
            var result: Result<Lease, PostgresError>?
        }
        let box = Box()
        let waiter = Waiter { result in
            box.result = result
            box.signal.signal()
        }
        if let immediate = try leaseOrEnqueue(waiter) { return immediate }
        let remaining = max(0, (deadline - ContinuousClock.now).milliseconds)
        if box.signal.wait(timeout: .now() + .milliseconds(Int(remaining))) == .timedOut {
            if dequeue(waiter) { throw poolTimeout() }
            box.signal.wait()   // delivered as we gave up: take it
        }
        return try box.result!.get()
    }

    // MARK: - Borrowing (async)

    /// A lease without blocking a thread while waiting for it.
    func acquire() async throws -> Lease {
        try await withCheckedThrowingContinuation { continuation in
            let waiter = Waiter { continuation.resume(with: $0) }
            do {
                guard let immediate = try leaseOrEnqueue(waiter) else {
                    DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(configuration.borrowTimeout.milliseconds))) {
                        [weak self] in
                        guard let self, self.dequeue(waiter) else { return }
                        waiter.deliver(.failure(self.poolTimeout()))
                    }
                    return
                }
                continuation.resume(returning: immediate)
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    // MARK: - Returning

    /// Takes a connection back: to the first waiter, else to the idle list. A broken connection,
    /// or one left inside a transaction, is dropped and its slot handed on.
    func checkin(_ handle: ConnectionHandle) {
        let healthy = !handle.isBroken && handle.transactionStatus == PQTRANS_IDLE
        let next: Waiter? = lock.withLock {
            if isClosed {
                opened -= 1
                return nil
            }
            if !waiters.isEmpty { return waiters.removeFirst() }
            if healthy { idle.append(handle) } else { opened -= 1 }
            return nil
        }
        next?.deliver(.success(healthy ? .connection(handle) : .slot))
    }

    // MARK: - Internals

    /// An idle connection or a free slot at once, else nil after queueing `waiter`.
    private func leaseOrEnqueue(_ waiter: Waiter) throws -> Lease? {
        try lock.withLock {
            if isClosed { throw PostgresError.misuse("the connection pool is closed") }
            if let handle = idle.popLast() { return .connection(handle) }
            if opened < configuration.poolSize {
                opened += 1
                return .slot
            }
            waiters.append(waiter)
            return nil
        }
    }

    /// Removes `waiter` if it is still queued; false when it was already served.
    private func dequeue(_ waiter: Waiter) -> Bool {
        lock.withLock {
            guard let index = waiters.firstIndex(where: { $0 === waiter }) else { return false }
            waiters.remove(at: index)
            return true
        }
    }

    /// Gives an unused slot to the first waiter, or frees it.
    private func releaseSlot() {
        let next: Waiter? = lock.withLock {
            if !isClosed, !waiters.isEmpty { return waiters.removeFirst() }
            opened -= 1
            return nil
        }
        next?.deliver(.success(.slot))
    }

    /// Opens a connection on a slot we hold. During a backoff it fails at once; a failure frees
    /// the slot and lengthens the backoff, a success ends it.
    private func open() throws -> ConnectionHandle {
        let now = ContinuousClock.now
        if let blockedUntil = lock.withLock({ nextAttempt }), now < blockedUntil {
            releaseSlot()
            throw PostgresError.unavailable(
                "database unreachable; next connection attempt in \((blockedUntil - now).milliseconds) ms")
        }
        do {
            let handle = try ConnectionHandle.connect(configuration, deadline: now + configuration.connectTimeout)
            handle.register(in: backends)
            lock.withLock {
                failures = 0
                nextAttempt = nil
            }
            return handle
        } catch {
            lock.withLock {
                failures += 1
                nextAttempt = ContinuousClock.now + configuration.backoff(afterFailures: failures)
            }
            releaseSlot()
            throw error
        }
    }

    private func poolTimeout() -> PostgresError {
        PostgresError(kind: .poolTimeout,
                      message: "no database connection free within \(configuration.borrowTimeout) "
                          + "(pool of \(configuration.poolSize))")
    }
}
