import Foundation

/// Runs blocking work (a synchronous socket client, a child's pipe) on a thread of its own:
/// neither Swift concurrency's cooperative pool (2 threads on 2 cores) nor Dispatch's global
/// queues (they share workers on Linux and do not grow when their threads block) may be blocked,
/// or the deferred handlers of a server in this same process would starve.
public func onOwnThread<T: Sendable, E: Error>(_ work: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: Result { () throws(E) -> T in try work() }) }.start()
    }
    return try result.get()
}
