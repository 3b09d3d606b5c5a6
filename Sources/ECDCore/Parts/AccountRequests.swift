import FoundationEssentials

/// Delegated-access requests and their callbacks: writing and sending requests
/// (`Flows/AccountRequests+Requests.swift`, `+Send.swift`), a dead grant's automatic re-request
/// (`+Reauthorize.swift`), the durable callback intake (`+Callbacks.swift`) and its worker
/// (`Background/AccountRequests+Inbox.swift`), callback timeouts (`+Timeouts.swift`), and the
/// accounts' reads (`+Queries.swift`).
final class AccountRequests: CorePart {
    let context: CoreContext
    /// The service account's token for each send; cached tokens an outcome replaces or drops.
    let vault: TokenVault
    let intake: CallbackIntake
    /// Wakes the inbox worker when a callback was committed.
    let inboxSignal: WakeSignal

    init(context: CoreContext, vault: TokenVault) {
        self.context = context
        self.vault = vault
        let signal = WakeSignal()
        self.inboxSignal = signal
        self.intake = CallbackIntake(storage: context.storage, metrics: context.metrics) { signal.signal() }
    }
}
