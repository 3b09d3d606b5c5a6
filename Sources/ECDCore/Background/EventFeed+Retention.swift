import FoundationEssentials

/// `events.retention_days`: events older than the retention are deleted by a loop of their own,
/// hourly, off every request's path. Each transaction deletes a bounded batch (found through the
/// index on `at`), so a large backlog never holds the database long enough to delay callbacks,
/// token reads or the webhook's cursor. Events the webhook has not delivered yet are kept,
/// whatever their age: its receiver has not seen them.
extension EventFeed {
    static let eventPruneBatch = 1000

    func runEventRetention() async {
        guard configuration.eventRetention != nil else { return }
        while !stopping {
            await pruneEvents()
            await retentionSignal.wait(timeout: configuration.eventPruneInterval)
        }
    }

    /// Deletes the events past retention; returns how many.
    @discardableResult
    func pruneEvents(now: Date = Date()) async -> Int {
        guard let retention = configuration.eventRetention else { return 0 }
        let cutoff = now.addingTimeInterval(-retention.timeInterval)
        let batch = Self.eventPruneBatch
        let keepUndelivered = configuration.webhookURL != nil
        var total = 0
        while !stopping {
            let deleted: Int
            do {
                deleted = try await storage.transaction { transaction -> Int in
                    // Events the webhook has not delivered are kept, whatever their age.
                    let delivered = keepUndelivered ? try transaction.webhookCursor() : Int64.max
                    return try transaction.pruneEvents(before: cutoff, upTo: delivered, limit: batch)
                }
            } catch {
                logger.error("pruning old events failed", metadata: ["error": "\(error)"])
                break
            }
            total += deleted
            metrics.eventsPruned.increment(by: deleted)
            if deleted < batch { break }
            // Let whatever queued behind this batch have the database before the next one.
            await Task.yield()
        }
        if total > 0 { logger.info("old events deleted", metadata: ["events": .stringConvertible(total)]) }
        return total
    }
}
