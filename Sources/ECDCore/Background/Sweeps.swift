import Foundation

/// The periodic work: callback timeouts, unsent requests, refresh ahead, revocations Cronofy has
/// not confirmed, the batched last-used flush and the gauges.
extension EnterpriseConnect {
    func runSweeps() async {
        while !stopping {
            await sweepOnce()
            await sweepSignal.wait(timeout: configuration.sweepInterval)
        }
    }

    func sweepOnce() async {
        await flushLastUsed()
        await expireCallbacks()
        if stopping { return }
        await resendUnsent()
        if stopping { return }
        await refreshAhead()
        if stopping { return }
        await retryRevocations()
        await recordGauges()
    }

    /// The background loops end at their next step once shutdown began (or their task was cancelled).
    var stopping: Bool { background.isStopping || Task.isCancelled }

    /// A request with no callback within its wait is asked for again (Cronofy documents no retry
    /// of a callback, and one lost on the way would otherwise be lost for good), up to
    /// `callbackAttempts` in all; attempt n waits `callbackTimeout · 2^(n-1)` (backoff). After the
    /// last, the account becomes `failed` (`callback_timeout`); an automatic re-request of a dead
    /// grant (`reauthorizing`) is not repeated and ends `reauthorization_required`; a renewal of an
    /// active account is repeated the same way and ends with the account still `active` and its
    /// renewal `failed`. A request whose callback is in the inbox is being handled and does not
    /// time out.
    func expireCallbacks() async {
        let now = Date()
        let timeout = configuration.callbackTimeout.timeInterval
        let cutoff = now.addingTimeInterval(-timeout)
        let attempts = max(configuration.callbackAttempts, 1)
        do {
            let (expired, again, dropped) = try await storage.transaction { [self] transaction -> (Int, [PreparedRequest], [String]) in
                var expired = 0
                var again: [PreparedRequest] = []
                var dropped: [String] = []
                for request in try transaction.requestsWaitingForCallback(sentBefore: cutoff, limit: 1000) {
                    let attempt = max(request.callbackAttempt, 1)
                    let since = request.since
                    let wait = timeout * Double(1 << min(attempt - 1, 20))
                    guard now.timeIntervalSince(since) >= wait else { continue }
                    let status = request.status
                    // A renewal is asked for again like a first request (and stays a renewal).
                    let askAgain = status == AccountStatus.pending.rawValue || status == AccountStatus.active.rawValue
                    if askAgain, attempt < attempts,
                       let serviceAccountID = request.requestServiceAccountID {
                        again.append(try prepareRequest(transaction, email: request.email, scope: request.requestScope,
                                                        serviceAccountID: serviceAccountID, now: now,
                                                        reason: "callback_timeout", attempt: attempt + 1))
                        continue
                    }
                    let seconds = Int(wait)
                    let key = try failAccount(transaction, rowID: request.rowID, requestID: request.requestID,
                                    AccountError(error: "callback_timeout", errorKey: nil,
                                                 errorDescription: attempt > 1
                                                     ? "Cronofy sent no callback for \(attempt) requests (the last waited \(seconds) seconds)"
                                                     : "Cronofy sent no callback within \(seconds) seconds"),
                                    now: now)
                    if let key { dropped.append(key) }
                    expired += 1
                }
                return (expired, again, dropped)
            }
            for key in dropped { cache.invalidate(key) }
            if expired > 0 { logger.warning("delegated access requests timed out", metadata: ["accounts": .stringConvertible(expired)]) }
            if !again.isEmpty {
                for request in again where !request.renewal { cache.invalidate(request.emailKey) }
                logger.warning("no callback came; asking Cronofy again", metadata: ["accounts": .stringConvertible(again.count)])
                await send(again)
            }
        } catch {
            logger.error("callback timeout sweep failed", metadata: ["error": "\(error)"])
        }
    }

    /// Refreshes, before they expire, the tokens of service accounts and of accounts read
    /// recently; the others are refreshed lazily when next asked for. Spread with jitter so a
    /// batch of tokens issued together is not refreshed in one burst.
    func refreshAhead(limit: Int = 100) async {
        let now = Date()
        let horizon = now.addingTimeInterval(configuration.refreshLead.timeInterval)
        // A hot account's `last_used_at` may be up to the cache's `remarkAfter` (and a flush)
        // older than its last read: the window is widened by that, so no account read within
        // the window is left out.
        let recent = now.addingTimeInterval(-configuration.recentUseWindow.timeInterval - cache.remarkAfter
                                            - configuration.sweepInterval.timeInterval)
        let owners: [TokenOwner]
        do {
            owners = try await storage.read { try $0.refreshDue(horizon: horizon, usedSince: recent, now: now, limit: limit) }
        } catch {
            logger.error("refresh-ahead sweep failed", metadata: ["error": "\(error)"])
            return
        }
        guard !owners.isEmpty else { return }
        let spread = min(configuration.sweepInterval.timeInterval / 2, 5)
        let lead = configuration.refreshLead
        await withTaskGroup(of: Void.self) { group in
            for owner in owners {
                group.addTask {
                    let jitter = Double.random(in: 0...spread)
                    try? await Task.sleep(for: .milliseconds(Int64(jitter * 1000)))
                    guard !self.stopping else { return }
                    _ = try? await self.refreshedToken(owner, force: false, minValidity: lead)
                }
            }
        }
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
