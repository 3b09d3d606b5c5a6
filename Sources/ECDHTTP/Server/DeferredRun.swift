import ECDSync

/// Runs a route's deferred work with a deadline: whichever comes first, the work's response or
/// the deadline's 503, is delivered (once); the other is dropped. At the deadline the work's task
/// is cancelled, and nothing waits for it to notice: a handler that ignores cancellation cannot
/// hold the client's answer, nor the connection, beyond `timeout`. Work that finishes first
/// cancels the timer, so no sleeping task outlives its request.
enum DeferredRun {
    static func start(_ work: @escaping @Sendable () async throws -> HTTPResponse, timeout: Duration,
                      deliver: @escaping @Sendable (HTTPResponse) -> Void) {
        let race = Race(deliver)
        let worker = Task {
            let response: HTTPResponse
            do {
                response = try await work()
            } catch {
                response = HTTPConnection.internalError
            }
            race.finish(response)
        }
        race.arm(Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            if race.finish(timedOut(timeout)) { worker.cancel() }
        })
    }

    static func timedOut(_ timeout: Duration) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Retry-After", value: "5")
        return HTTPError(.serviceUnavailable, code: "handler_timeout",
                         message: "the request was not answered within \(timeout); retry shortly",
                         headers: headers).response
    }

    /// The first `finish` delivers and cancels the timer; later ones do nothing.
    private final class Race: Sendable {
        private struct State {
            var finished = false
            var timer: Task<Void, Never>?
        }
        private let state = Locked(State())
        private let deliver: @Sendable (HTTPResponse) -> Void

        init(_ deliver: @escaping @Sendable (HTTPResponse) -> Void) { self.deliver = deliver }

        func arm(_ timer: Task<Void, Never>) {
            let finished = state.withLock { state in
                state.timer = timer
                return state.finished
            }
            if finished { timer.cancel() }
        }

        /// True when this call delivered.
        @discardableResult
        func finish(_ response: HTTPResponse) -> Bool {
            let timer = state.withLock { state -> Task<Void, Never>?? in
                guard !state.finished else { return nil }
                state.finished = true
                return .some(state.timer)
            }
            guard let timer else { return false }
            timer?.cancel()
            deliver(response)
            return true
        }
    }
}
