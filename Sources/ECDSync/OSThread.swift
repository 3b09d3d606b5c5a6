#if canImport(Glibc)
import Glibc
#endif

/// Detached pthreads for the package's few long-lived blocking threads (event loops, the log
/// writer, listeners), without Foundation's `Thread` (issue 14: the daemon loads no
/// libFoundation).
public enum OSThread {
    private final class Box {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) { self.name = name; self.body = body }
    }

    /// Starts `body` on a new detached thread named `name` (the kernel keeps its first 15 bytes:
    /// what `top -H` and `/proc/PID/task/*/comm` show). `stackSize` nil keeps the default.
    /// Returns the thread's id; traps if no thread can be had, as `Thread.start` does.
    @discardableResult
    public static func start(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) -> pthread_t {
        let short = String(decoding: name.utf8.prefix(15), as: UTF8.self)
        let box = Unmanaged.passRetained(Box(short, body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if let stackSize { pthread_attr_setstacksize(&attributes, max(stackSize, 64 << 10)) }
        var thread = pthread_t()
        let started = pthread_create(&thread, &attributes, { osThreadEntry($0) }, box)
        if started != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            fatalError("cannot start thread \(name): pthread_create returned \(started)")
        }
        return thread
    }

    fileprivate static func run(_ argument: UnsafeMutableRawPointer?) {
        let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
        nameCurrentThread(box.name)
        box.body()
    }

    /// Sets the calling thread's name through /proc (pthread_setname_np needs _GNU_SOURCE, which
    /// Glibc's Swift module does not define). From inside the thread: it is detached, so its id
    /// may be stale outside it. A name that cannot be set is no failure.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var bytes = Array(name.utf8)
        _ = write(fd, &bytes, bytes.count)
    }

    /// True when called on the thread `thread`.
    public static func isCurrent(_ thread: pthread_t?) -> Bool {
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Blocks the calling thread for `duration` (nanosleep, resumed after signals).
    public static func sleep(_ duration: Duration) {
        let parts = duration.components
        guard parts.seconds > 0 || parts.attoseconds > 0 else { return }
        var request = timespec(tv_sec: Int(parts.seconds), tv_nsec: Int(parts.attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
    }

    /// As ``sleep(_:)``, for a `TimeInterval` in seconds.
    public static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        sleep(.nanoseconds(Int64((seconds * 1e9).rounded(.down))))
    }
}

private func osThreadEntry(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    OSThread.run(argument)
    return nil
}
