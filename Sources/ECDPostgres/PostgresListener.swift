import ECDCLibPQ
import FoundationEssentials
import ECDSync
import ECDText
import Dispatch
import Glibc

/// `LISTEN` on a connection of its own, watched by a thread of its own with poll(2): the socket
/// and a wake-up pipe (for `stop`). Notifications go to `handler` on that thread, in the order
/// the server sent them; keep the handler short.
///
/// When the connection is lost the listener reconnects with the pool's backoff and subscribes
/// again. Notifications sent meanwhile are lost — PostgreSQL keeps none for absent listeners — so
/// each (re)subscription is announced with `.listening`: a cache kept coherent by notifications
/// must treat that event as "anything may have changed".
public final class PostgresListener: @unchecked Sendable {
    public enum Event: Sendable {
        /// Subscribed to every channel: after the first connect and after each reconnect.
        case listening
        case notification(channel: String, payload: String, senderPID: Int32)
        /// The connection was lost (or could not be made); retrying with backoff.
        case disconnected(PostgresError)
    }

    public let configuration: PostgresConfiguration
    public let channels: [String]
    private let handler: @Sendable (Event) -> Void
    private let condition = Condition()
    // Guarded by `condition`:
    private var listening = false
    private var stopping = false
    private var started = false
    private var thread: pthread_t?
    private let finished = DispatchSemaphore(value: 0)
    /// The wake-up pipe: `stop` writes a byte to end the thread's poll at once.
    private let wakeRead: Int32
    private let wakeWrite: Int32

    public init(_ configuration: PostgresConfiguration, channels: [String],
                handler: @escaping @Sendable (Event) -> Void) throws {
        self.configuration = configuration
        self.channels = channels
        self.handler = handler
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw PostgresError.misuse("cannot create the listener's pipe: errno \(errno)") }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        _ = fcntl(wakeRead, F_SETFL, fcntl(wakeRead, F_GETFL) | O_NONBLOCK)
        _ = fcntl(wakeRead, F_SETFD, FD_CLOEXEC)
        _ = fcntl(wakeWrite, F_SETFD, FD_CLOEXEC)
    }

    deinit {
        stop()
        close(wakeRead)
        close(wakeWrite)
    }

    /// Starts the listener thread (once). It connects, subscribes and reports `.listening`.
    public func start() {
        let first: Bool = condition.withLock {
            defer { started = true }
            return !started && !stopping
        }
        guard first else { return }
        // The lock is held across the start so that `stop` cannot read `thread` before it is set.
        condition.withLock {
            thread = OSThread.start(name: "ecd.postgres.listener") { [self] in
                run()
                finished.signal()
            }
        }
    }

    /// Stops the thread and waits until it has closed its connection. Idempotent. Not from the
    /// handler (it runs on that thread, which would wait for itself); the thread holds the
    /// listener, so a listener that was started lives until `stop`.
    public func stop() {
        precondition(!OSThread.isCurrent(condition.withLock { thread }),
                     "PostgresListener.stop() called from its own handler: it would wait for itself")
        let wasRunning: Bool = condition.withLock {
            defer { stopping = true; condition.broadcast() }
            return started && !stopping
        }
        guard wasRunning else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        finished.wait()
        condition.withLock { thread = nil }   // the thread's closure holds self: break the cycle
    }

    /// True while subscribed (connected and every LISTEN done).
    public var isListening: Bool { condition.withLock { listening } }

    /// Waits until subscribed, up to `timeout`. A readiness signal for tests and startup.
    @discardableResult
    public func waitUntilListening(timeout: Duration) -> Bool {
        let limit = Condition.Deadline.after(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !listening, !stopping {
            if !condition.wait(until: limit) { return listening }
        }
        return listening
    }

    // MARK: - The listener thread

    private var isStopping: Bool { condition.withLock { stopping } }

    private func setListening(_ value: Bool) {
        condition.withLock {
            listening = value
            condition.broadcast()
        }
    }

    private func run() {
        var failures = 0
        while !isStopping {
            let handle: ConnectionHandle
            do {
                handle = try subscribe()
                failures = 0
            } catch {
                failures += 1
                handler(.disconnected(error as? PostgresError ?? .unavailable("\(error)")))
                sleepUnlessWoken(configuration.backoff(afterFailures: failures))
                continue
            }
            setListening(true)
            handler(.listening)
            let lost = watch(handle)
            setListening(false)
            if let lost {
                handler(.disconnected(lost))
                failures = 1
                sleepUnlessWoken(configuration.backoff(afterFailures: failures))
            }
        }
    }

    private func subscribe() throws -> ConnectionHandle {
        let handle = try ConnectionHandle.connect(configuration,
                                                  deadline: ContinuousClock.now + configuration.connectTimeout)
        for channel in channels {
            try handle.runScript("LISTEN " + Self.quoteIdentifier(channel))
        }
        return handle
    }

    /// Delivers notifications until the connection is lost (returns why) or `stop` (returns nil).
    private func watch(_ handle: ConnectionHandle) -> PostgresError? {
        let connection = handle.connection
        while true {
            // Notifications may already sit in libpq's queue (read along with LISTEN's answer).
            while let notification = PQnotifies(connection) {
                let event = Event.notification(channel: String(cString: notification.pointee.relname),
                                               payload: String(cString: notification.pointee.extra),
                                               senderPID: notification.pointee.be_pid)
                PQfreemem(notification)
                handler(event)
            }
            if isStopping { return nil }
            var descriptors = [pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0),
                               pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&descriptors, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return .unavailable("poll failed: errno \(errno)")
            }
            if descriptors[1].revents != 0 { drainWakePipe() }
            if descriptors[0].revents != 0 {
                guard PQconsumeInput(connection) == 1, PQstatus(connection) == CONNECTION_OK else {
                    return PostgresError.fromConnection(connection, sql: nil)
                }
            }
        }
    }

    /// Waits for `duration` unless `stop` is called meanwhile.
    private func sleepUnlessWoken(_ duration: Duration) {
        var descriptor = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, Int32(clamping: duration.milliseconds)) > 0 { drainWakePipe() }
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }

    /// A channel name as a quoted identifier: LISTEN takes an identifier, not a parameter.
    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }
}
