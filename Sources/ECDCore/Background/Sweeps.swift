import FoundationEssentials

/// The periodic work: callback timeouts, unsent requests, refresh ahead, revocations Cronofy has
/// not confirmed, the batched last-used flush and the gauges: one loop of the facade, each step
/// done by the part that owns it.
extension EnterpriseConnect {
    func runSweeps() async {
        while !stopping {
            await sweepOnce()
            await sweepSignal.wait(timeout: configuration.sweepInterval)
        }
    }

    func sweepOnce() async {
        await vault.flushLastUsed()
        await requests.expireCallbacks()
        if stopping { return }
        await requests.resendUnsent()
        if stopping { return }
        await vault.refreshAhead()
        if stopping { return }
        await revocations.retryRevocations()
        await recordGauges()
    }

    func recordGauges() async {
        do {
            let gauges = try await storage.read { try $0.gauges() }
            let (counts, depth, backlog) = (gauges.accountsByStatus, gauges.inboxDepth, gauges.webhookBacklog)
            for status in AccountStatus.allCases { metrics.accounts(status, counts[status.rawValue] ?? 0) }
            metrics.inboxDepth.record(depth)
            if configuration.webhookURL != nil { metrics.webhookBacklog.record(backlog) }
        } catch {
            logger.error("reading gauges failed", metadata: ["error": "\(error)"])
        }
    }
}
