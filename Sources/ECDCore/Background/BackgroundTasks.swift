import ECDSync

/// The long-running loops of one facade: started once, stopped and awaited on shutdown.
///
/// Stopping is cooperative: a flag the loops check between steps, and their wake signals nudged.
/// In-flight calls to Cronofy are left to finish, because a call cut short may have done its work
/// at Cronofy with the answer lost (a refresh token rotated, a code spent); only after `deadline`
/// are the loops cancelled (an exchange cut then is retried at the next start).
final class BackgroundTasks: Sendable {
    private struct State {
        var tasks: [Task<Void, Never>] = []
        /// One-off work (a bulk request's sends), removed when it ends.
        var jobs: [Int: Task<Void, Never>] = [:]
        var nextJob = 0
        var started = false
        var stopping = false
    }

    private let state = Locked(State())

    var isStopping: Bool { state.withLock { $0.stopping } }

    func start(_ core: EnterpriseConnect) {
        state.withLock { state in
            guard !state.started else { return }
            state.started = true
            state.stopping = false
            state.tasks.append(Task { await core.requests.runInboxWorker() })
            state.tasks.append(Task { await core.runSweeps() })
            state.tasks.append(Task { await core.events.runEventRetention() })
            if core.configuration.webhookURL != nil {
                state.tasks.append(Task { await core.events.runWebhookDelivery() })
            }
        }
    }

    /// Runs `work` as a task that shutdown waits for like the loops (a bulk request's sends:
    /// the route answers before Cronofy is called). Once stopping, nothing new starts: the work
    /// must be such that the sweeps pick it up after a restart, as they do unsent requests.
    func spawn(_ work: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            guard !state.stopping else { return }
            let id = state.nextJob
            state.nextJob += 1
            // The task cannot remove itself before it is recorded: that needs this same lock.
            state.jobs[id] = Task { [weak self] in
                await work()
                self?.state.withLock { _ = $0.jobs.removeValue(forKey: id) }
            }
        }
    }

    /// How long `stop` waits for the loops before it cancels them and returns.
    static let stopDeadline: Duration = .seconds(20)

    /// Asks every loop to stop, `wake` nudging those parked on a signal, and waits for them, but
    /// never past `deadline`: then they are cancelled and not waited for (a loop that ignored
    /// cancellation cannot hold the stop). Returns false when the deadline came first.
    @discardableResult
    func stop(deadline: Duration = BackgroundTasks.stopDeadline, wake: @Sendable () -> Void) async -> Bool {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.stopping = true
            return state.tasks + state.jobs.values
        }
        wake()
        let first = Locked(false)
        let finished = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let resume: @Sendable (Bool) -> Void = { value in
                let won = first.withLock { done -> Bool in
                    defer { done = true }
                    return !done
                }
                if won { continuation.resume(returning: value) }
            }
            let timer = Task {
                guard (try? await Task.sleep(for: deadline)) != nil else { return }
                resume(false)
            }
            Task {
                for task in tasks { await task.value }
                timer.cancel()
                resume(true)
            }
        }
        if !finished { for task in tasks { task.cancel() } }
        state.withLock { state in
            state.tasks.removeAll()
            state.started = false
            state.stopping = false
        }
        return finished
    }
}
