import ECDCronofy

/// The event log as its readers see it: the page query (`Flows/EventFeed+Page.swift`), the signed
/// webhook delivery (`Background/EventFeed+Webhook.swift`) and the retention prune
/// (`+Retention.swift`). The flows append events inside their own transactions.
final class EventFeed: CorePart {
    let context: CoreContext
    /// Carries the webhook's POSTs (tests pass their own).
    let webhookTransport: any CronofyTransport
    let webhookSignal = WakeSignal()
    let retentionSignal = WakeSignal()

    init(context: CoreContext, webhookTransport: any CronofyTransport) {
        self.context = context
        self.webhookTransport = webhookTransport
    }
}
