import FoundationEssentials
import ECDSync

/// The one place the simulator's mutable state lives. The HTTP server calls handlers on many
/// threads at once and callbacks are delivered from tasks, so every access goes through this
/// lock; critical sections are short and never await or do I/O.
final class SimulatorStore: @unchecked Sendable {
    private let lock = Lock()
    private var state: SimulatorState
    private var settings: ControlSettings
    private var calls: [SimulatorCall] = []
    private var callbacks: [SimulatorCallback] = []
    private let clock = ContinuousClock()

    init(configuration: SimulatorConfiguration) {
        state = SimulatorState(
            clientID: configuration.clientID, clientSecret: configuration.clientSecret,
            tokenLifetime: configuration.tokenLifetime, codeLifetime: configuration.codeLifetime)
        settings = ControlSettings(configuration: configuration)
    }

    var now: ContinuousClock.Instant { clock.now }

    /// Runs `body` on the state under the lock, with the current instant.
    func withState<R, E: Error>(_ body: (inout SimulatorState, ContinuousClock.Instant) throws(E) -> R) throws(E) -> R {
        let now = clock.now
        lock.lock()
        defer { lock.unlock() }
        return try body(&state, now)
    }

    func withSettings<R>(_ body: (inout ControlSettings) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&settings)
    }

    // MARK: Call log

    /// The call log keeps the most recent calls only, so a long-running `ecd simulator` does not
    /// grow without bound; tests see far fewer.
    static let callLogLimit = 10_000

    func record(_ call: SimulatorCall) {
        lock.lock()
        defer { lock.unlock() }
        if calls.count >= Self.callLogLimit { calls.removeFirst(calls.count - Self.callLogLimit + 1) }
        calls.append(call)
    }

    func recordedCalls() -> [SimulatorCall] {
        lock.lock()
        defer { lock.unlock() }
        return calls
    }

    // MARK: Callback log

    /// Appends a callback and returns its index for later updates.
    func addCallback(_ callback: SimulatorCallback) -> Int {
        lock.lock()
        defer { lock.unlock() }
        callbacks.append(callback)
        return callbacks.count - 1
    }

    func updateCallback(_ index: Int, _ body: (inout SimulatorCallback) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        body(&callbacks[index])
    }

    func recordedCallbacks() -> [SimulatorCallback] {
        lock.lock()
        defer { lock.unlock() }
        return callbacks
    }
}
