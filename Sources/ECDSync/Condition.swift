#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable (what `NSCondition` is on Linux), without Foundation
/// (issue 14: the daemon loads no libFoundation). Timed waits run on CLOCK_MONOTONIC, so a wall
/// clock set back or forward neither stretches nor cuts them. Pthread primitives, as for
/// ``Locked``, so that ThreadSanitizer sees them.
public final class Condition: @unchecked Sendable {
    /// A point on the monotonic clock to wait until.
    public struct Deadline: Sendable {
        let time: timespec

        /// `duration` from now (a negative one is now).
        public static func after(_ duration: Duration) -> Deadline {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let parts = duration.components
            let seconds = max(parts.seconds, 0)
            let nanoseconds = parts.seconds < 0 ? 0 : parts.attoseconds / 1_000_000_000
            var time = timespec(tv_sec: now.tv_sec + Int(seconds), tv_nsec: now.tv_nsec + Int(nanoseconds))
            if time.tv_nsec >= 1_000_000_000 {
                time.tv_sec += 1
                time.tv_nsec -= 1_000_000_000
            }
            return Deadline(time: time)
        }

        /// `seconds` from now.
        public static func after(seconds: Double) -> Deadline {
            after(.nanoseconds(Int64((max(seconds, 0) * 1e9).rounded(.down))))
        }
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deinitialize(count: 1)
        condition.deallocate()
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    public func withLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits for a signal or broadcast (or a spurious wake-up: callers loop on their predicate).
    /// The lock must be held.
    public func wait() { pthread_cond_wait(condition, mutex) }

    /// As ``wait()``, but false once `deadline` has passed. The lock must be held.
    @discardableResult
    public func wait(until deadline: Deadline) -> Bool {
        var time = deadline.time
        return pthread_cond_timedwait(condition, mutex, &time) != ETIMEDOUT
    }

    /// Wakes one waiter. Better called with the lock held.
    public func signal() { pthread_cond_signal(condition) }

    /// Wakes every waiter. Better called with the lock held.
    public func broadcast() { pthread_cond_broadcast(condition) }
}
