import FoundationEssentials
import ECDSync

/// Delivers delegated-access callbacks the way a careful upstream would: after `callbackDelay`,
/// one POST per entry, retried with exponential backoff while the receiver is unreachable or
/// answers anything but 2xx, up to `callbackMaxAttempts`. Every attempt is recorded in the store.
final class CallbackDispatcher: Sendable {
    struct Policy: Sendable {
        var initialDelay: Duration
        var maxAttempts: Int
        var baseRetryDelay: Duration
        var maxRetryDelay: Duration
        var timeout: Duration
        var clientSecret: String

        init(configuration: SimulatorConfiguration) {
            initialDelay = configuration.callbackDelay
            maxAttempts = max(1, configuration.callbackMaxAttempts)
            baseRetryDelay = configuration.callbackRetryBaseDelay
            maxRetryDelay = configuration.callbackMaxRetryDelay
            timeout = configuration.callbackTimeout
            clientSecret = configuration.clientSecret
        }

        /// Delay after failed attempt `n` (1-based): base, 2×base, 4×base, … capped.
        func retryDelay(afterAttempt n: Int) -> Duration {
            var delay = baseRetryDelay
            for _ in 1..<max(1, n) {
                delay = delay * 2
                if delay >= maxRetryDelay { return maxRetryDelay }
            }
            return min(delay, maxRetryDelay)
        }
    }

    private let store: SimulatorStore
    private let transport: any CallbackTransport
    private let policy: Policy
    private let tasks = TaskRegistry()

    init(store: SimulatorStore, transport: any CallbackTransport, policy: Policy) {
        self.store = store
        self.transport = transport
        self.policy = policy
    }

    /// Starts delivering each job in its own task (entries of a batch are independent).
    func schedule(_ jobs: [CallbackJob]) {
        for job in jobs {
            tasks.start { [self] in await deliver(job) }
        }
    }

    /// Stops every pending delivery and waits for the tasks to end.
    func shutdown() async {
        await tasks.cancelAll()
    }

    private func deliver(_ job: CallbackJob) async {
        do { try await Task.sleep(for: policy.initialDelay) } catch { return }

        // The code is issued when the callback is first sent, so its lifetime starts then.
        let code: String? = job.refused ? nil : store.withState { state, now in
            state.issueDelegatedCode(
                email: job.email, scope: job.scope, callbackURL: job.callbackURL,
                serviceAccountGrantID: job.serviceAccountGrantID, now: now)
        }
        let body = code.map { CallbackJob.successBody(code: $0, state: job.state) } ?? CallbackJob.refusalBody(state: job.state)
        let bytes = body.bytes
        let signed = store.withSettings { $0.signCallbacks }
        let signature = signed ? CallbackSignature.value(clientSecret: policy.clientSecret, body: bytes) : nil
        let index = store.addCallback(SimulatorCallback(
            email: job.email, callbackURL: job.callbackURL, state: job.state, body: body.rendered, code: code,
            error: job.refused ? "unable_to_grant_scope" : nil, signature: signature, attempts: [],
            delivered: false, dropped: job.dropped, finished: job.dropped))
        if job.dropped { return }

        var headers = [("Content-Type", "application/json"), ("User-Agent", "Cronofy-Simulator (ecd)")]
        if let signature { headers.append((CallbackSignature.headerName, signature)) }

        for attempt in 1...policy.maxAttempts {
            let status = await transport.post(url: job.callbackURL, body: bytes, headers: headers, timeout: policy.timeout)
            let delivered = status.map { (200..<300).contains($0) } ?? false
            let last = delivered || attempt == policy.maxAttempts
            store.updateCallback(index) { callback in
                callback.attempts.append(SimulatorCallback.Attempt(status: status))
                callback.delivered = delivered
                callback.finished = last
            }
            if last { return }
            do {
                try await Task.sleep(for: policy.retryDelay(afterAttempt: attempt))
            } catch {
                store.updateCallback(index) { $0.finished = true }
                return
            }
        }
    }
}

/// The dispatcher's running tasks, so that shutdown can cancel and await them.
private final class TaskRegistry: @unchecked Sendable {
    private let lock = Lock()
    private var tasks: [Int: Task<Void, Never>] = [:]
    private var nextID = 0
    private var closed = false

    func start(_ work: @escaping @Sendable () async -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        let id = nextID
        nextID += 1
        tasks[id] = Task { [weak self] in
            await work()
            self?.finish(id)
        }
    }

    private func finish(_ id: Int) {
        lock.lock()
        defer { lock.unlock() }
        tasks[id] = nil
    }

    func cancelAll() async {
        let running: [Task<Void, Never>] = {
            lock.lock()
            defer { lock.unlock() }
            closed = true
            return Array(tasks.values)
        }()
        for task in running { task.cancel() }
        for task in running { await task.value }
    }
}
