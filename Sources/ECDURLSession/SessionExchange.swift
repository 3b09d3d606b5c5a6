import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One URLSession request, bridged to async/await with a hard deadline, without ever calling into
/// URLSession from a Swift cancellation handler.
///
/// Why not `session.data(for:)` raced against a sleep: cancelling a Swift task that awaits
/// `data(for:)` runs URLSession's cancellation handler under the task's status lock, and that
/// handler waits synchronously for the session's queue; if the session's queue is at that moment
/// resuming the same task (the answer arrived just as the deadline or a shutdown hit), it waits
/// for the status lock: a deadlock of both threads (swift-corelibs-foundation, seen freezing whole
/// test runs). Here the result comes back through a completion handler into one continuation that
/// the first of {answer, deadline, cancellation} resumes; the losers only cancel the URLSession
/// task asynchronously, on another queue, outside any lock.
public final class SessionExchange: @unchecked Sendable {
    // @unchecked: every mutable property is guarded by `lock`.
    private let lock = NSLock()
    private var continuation: CheckedContinuation<(Data, URLResponse), any Error>?
    private var task: URLSessionDataTask?
    private var deadline: DispatchWorkItem?
    private var finished = false

    /// Sends `request` and returns the body and response; throws `URLError(.timedOut)` after
    /// `timeout`, `URLError(.cancelled)` when the calling task is cancelled, else URLSession's error.
    public static func send(_ request: URLRequest, on session: URLSession, timeout: Duration) async throws -> (Data, URLResponse) {
        let exchange = SessionExchange()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                exchange.start(request, on: session, timeout: timeout, continuation: continuation)
            }
        } onCancel: {
            exchange.finish(.failure(URLError(.cancelled)), cancelRequest: true)
        }
    }

    private func start(_ request: URLRequest, on session: URLSession, timeout: Duration,
                       continuation: CheckedContinuation<(Data, URLResponse), any Error>) {
        let task = session.dataTask(with: request) { [self] data, response, error in
            if let error {
                finish(.failure(error), cancelRequest: false)
            } else if let response {
                finish(.success((data ?? Data(), response)), cancelRequest: false)
            } else {
                finish(.failure(URLError(.badServerResponse)), cancelRequest: false)
            }
        }
        let timer = DispatchWorkItem { [self] in finish(.failure(URLError(.timedOut)), cancelRequest: true) }
        let alreadyFinished = lock.withLock {
            self.task = task
            self.deadline = timer
            if finished { return true }
            self.continuation = continuation
            return false
        }
        if alreadyFinished {
            // Cancelled before the request could start.
            continuation.resume(throwing: URLError(.cancelled))
            return
        }
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds), execute: timer)
        task.resume()
    }

    /// Resumes the caller once, with the first outcome; later outcomes are dropped. With
    /// `cancelRequest` (deadline, cancellation) the request still running is cancelled on a global
    /// queue, never synchronously here (see the type's comment).
    private func finish(_ outcome: Result<(Data, URLResponse), any Error>, cancelRequest: Bool) {
        let (waiter, task, timer) = lock.withLock { () -> (CheckedContinuation<(Data, URLResponse), any Error>?, URLSessionDataTask?, DispatchWorkItem?) in
            guard !finished else { return (nil, nil, nil) }
            finished = true
            defer { continuation = nil; self.task = nil; deadline = nil }
            return (continuation, self.task, deadline)
        }
        timer?.cancel()
        if cancelRequest, let task {
            DispatchQueue.global().async { task.cancel() }
        }
        waiter?.resume(with: outcome)
    }
}
