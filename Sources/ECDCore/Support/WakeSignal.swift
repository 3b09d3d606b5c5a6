import ECDSync

/// Wakes one background loop: `signal()` before `wait` is remembered, several signals collapse
/// into one, and `wait(timeout:)` also returns after the timeout (spurious wake-ups are harmless).
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Locked(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    func wait(timeout: Duration) async {
        let timer = Task { [weak self] in
            // A cancelled timer must not signal: that would leave `pending` set and make the
            // next wait return at once, turning the loop into a spin.
            do { try await Task.sleep(for: timeout) } catch { return }
            self?.signal()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
    }
}

/// Exponential back-off with jitter: 1 s, 2 s, 4 s … capped, each scaled by a random 0.5…1.0 so
/// that many rows failing together do not retry together.
enum Backoff {
    static func delay(failures: Int, cap: Duration, retryAfter: Duration? = nil) -> Duration {
        let exponent = min(max(failures - 1, 0), 20)
        let base = min(Double(1 << exponent), cap.timeInterval)
        let jittered = base * Double.random(in: 0.5...1.0)
        let seconds = max(jittered, retryAfter?.timeInterval ?? 0)
        return .milliseconds(Int64(seconds * 1000))
    }
}
