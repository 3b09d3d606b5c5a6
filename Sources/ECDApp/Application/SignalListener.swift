import ECDSync
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Delivers SIGTERM/SIGINT/SIGHUP as values to async code.
///
/// Each signal gets a C handler (installed with `sigaction` before `init` returns) that writes the
/// signal number into a pipe; a thread of its own reads the pipe and hands the numbers to the
/// listeners (see `SignalRelay`). So a signal is caught from the moment the listener exists.
///
/// Why not `SIG_IGN` plus a Dispatch signal source: the source is armed asynchronously, some time
/// after `resume()`, and a signal arriving before that meets `SIG_IGN` and is discarded by the
/// kernel. Under load that window outlasted the "listening" log line, and a SIGTERM sent right
/// after startup was lost: the daemon kept running (seen in CommandsDaemonTests, 1 run in 40).
final class SignalListener: Sendable {
    private let signals: [Int32]
    private let state = Locked(State())

    private struct State: Sendable {
        var pending: [Int32] = []
        var waiter: CheckedContinuation<Int32, Never>?
        var cancelled = false
    }

    init(signals: [Int32]) {
        self.signals = signals
        SignalRelay.shared.add(self, for: signals)
    }

    /// The next signal received (one already received and not yet taken comes first).
    func next() async -> Int32 {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Int32? in
                if !state.pending.isEmpty { return state.pending.removeFirst() }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Stops listening; a signal no other listener wants gets its default action back.
    func cancel() {
        state.withLock { $0.cancelled = true }
        SignalRelay.shared.remove(self)
    }

    /// Called by the relay's thread for each signal this listener asked for.
    func deliver(_ number: Int32) {
        let waiter = state.withLock { state -> CheckedContinuation<Int32, Never>? in
            guard !state.cancelled, signals.contains(number) else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending.append(number)
            return nil
        }
        waiter?.resume(returning: number)
    }
}
