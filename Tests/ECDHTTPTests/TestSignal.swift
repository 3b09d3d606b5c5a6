import ECDSync

/// A one-shot readiness signal between a test and code running inside the server (a handler, a
/// hook): the test waits for the event itself instead of sleeping a fixed time and hoping.
final class TestSignal: Sendable {
    private struct State {
        var fired = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextID = 0
    }

    private let state = Locked(State())

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.fired = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    var hasFired: Bool { state.withLock { $0.fired } }

    /// True once `fire()` was called (before or during the wait); false when `timeout` passed
    /// first, so that a missing event fails its test instead of hanging it.
    func wait(timeout: Duration = .seconds(10)) async -> Bool {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> Int? in
                guard !state.fired else { return nil }
                state.nextID += 1
                state.waiters[state.nextID] = continuation
                return state.nextID
            }
            guard let id else {
                continuation.resume(returning: true)
                return
            }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                let expired = state.withLock { $0.waiters.removeValue(forKey: id) }
                expired?.resume(returning: false)
            }
        }
    }
}
