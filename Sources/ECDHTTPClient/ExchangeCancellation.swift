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

    func cancel() {
        state.withLock { state in
            state.cancelled = true
            return state.connection
        }?.cancel()
    }
}
