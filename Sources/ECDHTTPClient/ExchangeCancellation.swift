import ECDSync

/// The link between a cancelled task and the connection its exchange uses at that moment:
/// whichever comes second (the cancellation, or the connection being attached) cancels it, so a
/// cancellation that arrives before the connection is opened is not lost.
final class ExchangeCancellation: Sendable {
    private let state = Locked<(cancelled: Bool, connection: HTTPConnection?)>((false, nil))

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    func attach(_ connection: HTTPConnection) {
        let cancelled = state.withLock { state in
            state.connection = connection
            return state.cancelled
        }
        if cancelled { connection.cancel() }
    }

    /// Lets go of the connection before it goes back to the pool, so a cancellation arriving
    /// later (the task cancelled on its way out) cannot shut a socket another exchange has taken
    /// from the pool meanwhile. False when the exchange was cancelled already: then the
    /// connection is not to be pooled.
    func detach() -> Bool {
        state.withLock { state in
            state.connection = nil
            return !state.cancelled
        }
    }

    func cancel() {
        state.withLock { state in
            state.cancelled = true
            return state.connection
        }?.cancel()
    }
}

/// The caller's continuation, resumed once: by the exchange's thread with its outcome, or by the
/// deadline's timer with `.timedOut`, whichever comes first; the other's resume is dropped.
final class ExchangeAnswer: Sendable {
    private let continuation: Locked<CheckedContinuation<HTTPClientResponse, any Error>?>

    init(_ continuation: CheckedContinuation<HTTPClientResponse, any Error>) {
        self.continuation = Locked(continuation)
    }

    func resume(with result: Result<HTTPClientResponse, any Error>) {
        continuation.withLock { held in
            defer { held = nil }
            return held
        }?.resume(with: result)
    }
}
