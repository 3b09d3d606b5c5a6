import Synchronization

/// The long-running loops of one facade: started once, cancelled and awaited on shutdown.
final class BackgroundTasks: Sendable {
    private struct State {
        var tasks: [Task<Void, Never>] = []
        var started = false
    }

    private let state = Mutex(State())

    func start(_ core: EnterpriseConnect) {
        state.withLock { state in
            guard !state.started else { return }
            state.started = true
            state.tasks.append(Task { await core.runInboxWorker() })
            state.tasks.append(Task { await core.runSweeps() })
            if core.configuration.webhookURL != nil {
                state.tasks.append(Task { await core.runWebhookDelivery() })
            }
        }
    }

    /// Cancels every loop; `wake` nudges loops parked on a signal so they see the cancellation.
    func stop(wake: () -> Void) async {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            let tasks = state.tasks
            state.tasks.removeAll()
            state.started = false
            return tasks
        }
        for task in tasks { task.cancel() }
        wake()
        for task in tasks { await task.value }
    }
}
