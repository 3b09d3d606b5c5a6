import Foundation

/// A value behind a lock: the one lock type of the package (sources and tests alike).
///
/// `NSLock` (a pthread mutex) rather than `Synchronization.Mutex`: on Linux the latter waits on
/// raw futexes, which ThreadSanitizer cannot see, so every access it protects is reported as a race
/// and real races drown in the noise (`swift test --sanitize=thread` runs in CI). Uncontended, both
/// cost a few tens of nanoseconds.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
