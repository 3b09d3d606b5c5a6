import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Delivers SIGTERM/SIGINT/SIGHUP as values to async code.
///
/// The default disposition of each signal is replaced by `SIG_IGN` (so the process is not killed)
/// and a Dispatch signal source reports it instead. Sources are made here, in an ordinary
/// nonisolated type, never in `main.swift`'s top-level code (PLATFORM-NOTES: a closure made there
/// is main-actor isolated and traps when Dispatch calls it on another queue).
// @unchecked: Dispatch sources are thread-safe objects (not yet marked Sendable); the array is
// never changed after init, and the mutable state is behind a lock.
final class SignalListener: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let signals: [Int32]
    private let state = LockedValue(State())

    private struct State: Sendable {
        var pending: [Int32] = []
        var waiter: CheckedContinuation<Int32, Never>?
    }

    init(signals: [Int32]) {
        let queue = DispatchQueue(label: "ecd.signals")
        var sources: [any DispatchSourceSignal] = []
        for number in signals {
            signal(number, SIG_IGN)
            sources.append(DispatchSource.makeSignalSource(signal: number, queue: queue))
        }
        self.sources = sources
        self.signals = signals
        for (source, number) in zip(sources, signals) {
            source.setEventHandler { [state] in
                let waiter = state.withValue { state -> CheckedContinuation<Int32, Never>? in
                    if let waiter = state.waiter {
                        state.waiter = nil
                        return waiter
                    }
                    state.pending.append(number)
                    return nil
                }
                waiter?.resume(returning: number)
            }
            source.resume()
        }
    }

    /// The next signal received (one already received and not yet taken comes first).
    func next() async -> Int32 {
        await withCheckedContinuation { continuation in
            let ready = state.withValue { state -> Int32? in
                if !state.pending.isEmpty { return state.pending.removeFirst() }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Stops listening and gives the signals their default action back.
    func cancel() {
        for source in sources { source.cancel() }
        for number in signals { signal(number, SIG_DFL) }
    }
}
