#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a lock: the one lock type of the package (sources and tests alike).
///
/// A pthread mutex (what `NSLock` wraps) rather than `Synchronization.Mutex`: on Linux the latter
/// waits on raw futexes, which ThreadSanitizer cannot see, so every access it protects is reported
/// as a race and real races drown in the noise (`swift test --sanitize=thread` runs in CI).
/// Uncontended, both cost a few tens of nanoseconds. The mutex is used directly, not through
/// `NSLock`, so that this module needs no Foundation (issue 14: the daemon loads no libFoundation).
/// It lives in its own allocation because a pthread mutex must not move.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let result = pthread_mutex_init(mutex, nil)
        precondition(result == 0, "pthread_mutex_init failed: \(result)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
