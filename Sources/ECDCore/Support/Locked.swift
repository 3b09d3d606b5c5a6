import Foundation

/// A value behind a lock. `NSLock` (a pthread mutex) rather than `Synchronization.Mutex`: the
/// latter waits on raw futexes on Linux, which ThreadSanitizer cannot see, so every access it
/// protects would be reported as a race and real races would drown in the noise. Uncontended,
/// both cost a few tens of nanoseconds.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
