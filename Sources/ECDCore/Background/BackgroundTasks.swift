import ECDSync

/// The long-running loops of one facade: started once, stopped and awaited on shutdown.
///
/// Stopping is cooperative: a flag the loops check between steps, and their wake signals nudged.
/// Cancelling a task while it awaits `URLSession` can deadlock FoundationNetworking on Linux (the
/// cancellation handler and the completing data task take each other's locks), so in-flight calls
/// to Cronofy are left to finish; only after `deadline` are the loops cancelled.
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
            state.tasks.append(Task { await core.runInboxWorker() })
            state.tasks.append(Task { await core.runSweeps() })
            state.tasks.append(Task { await core.runEventRetention() })
            if core.configuration.webhookURL != nil {
                state.tasks.append(Task { await core.runWebhookDelivery() })
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

    /// Asks every loop to stop, `wake` nudging those parked on a signal, and waits for them.
    /// Returns false when they had to be cancelled at the deadline.
    @discardableResult
    func stop(deadline: Duration = .seconds(20), wake: @Sendable () -> Void) async -> Bool {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.stopping = true
            return state.tasks + state.jobs.values
        }
        wake()
        let finished = await withTaskGroup(of: Bool.self) { group -> Bool in
            group.addTask {
                for task in tasks { await task.value }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return false
            }
            let first = await group.next() ?? true
            if !first { for task in tasks { task.cancel() } }
            group.cancelAll()
            return first
        }
        state.withLock { state in
            state.tasks.removeAll()
            state.started = false
            state.stopping = false
        }
        return finished
    }
}
