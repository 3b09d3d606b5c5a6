import ECDSQLite
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
            let (expired, again, dropped) = try await database.asyncWrite { [self] connection -> (Int, [PreparedRequest], [String]) in
                let rows = try connection.query(
                    """
                    SELECT id, email, \(AccountRecord.requestScopeSQL) AS request_scope,
                        \(AccountRecord.requestServiceAccountSQL) AS request_service_account_id, status, request_id,
                        callback_attempt, COALESCE(request_sent_at, requested_at) AS since FROM accounts
                    WHERE (status IN ('pending', 'reauthorizing') OR (status = 'active' AND renewal_status = 'pending'))
                        AND COALESCE(request_sent_at, requested_at) < ?
                        AND NOT EXISTS (SELECT 1 FROM callback_inbox WHERE callback_inbox.request_id = accounts.request_id)
                    LIMIT 1000
                    """, [cutoff])
                var expired = 0
                var again: [PreparedRequest] = []
                var dropped: [String] = []
                for row in rows {
                    let attempt = max(Int(row.optional("callback_attempt") as Int64? ?? 1), 1)
                    let since: Date = try row.get("since")
                    let wait = timeout * Double(1 << min(attempt - 1, 20))
                    guard now.timeIntervalSince(since) >= wait else { continue }
                    let status: String = try row.get("status")
                    // A renewal is asked for again like a first request (and stays a renewal).
                    let askAgain = status == AccountStatus.pending.rawValue || status == AccountStatus.active.rawValue
                    if askAgain, attempt < attempts,
                       let serviceAccountID: String = row.optional("request_service_account_id") {
                        again.append(try prepareRequest(connection, email: try row.get("email"), scope: try row.get("request_scope"),
                                                        serviceAccountID: serviceAccountID, now: now,
                                                        reason: "callback_timeout", attempt: attempt + 1))
                        continue
                    }
                    let seconds = Int(wait)
                    let key = try failAccount(connection, rowID: try row.get("id"), requestID: row.optional("request_id"),
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
        let recent = now.addingTimeInterval(-configuration.recentUseWindow.timeInterval)
        let owners: [TokenOwner]
        do {
            owners = try await database.asyncRead { connection in
                let services = try connection.query(
                    """
                    SELECT id FROM service_accounts WHERE status = 'active' AND expires_at < ?
                        AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND (lease_until IS NULL OR lease_until < ?)
                    LIMIT ?
                    """, [horizon, now, now, limit]).map { TokenOwner.serviceAccount(try $0.get("id")) }
                let accounts = try connection.query(
                    """
                    SELECT id FROM accounts WHERE status = 'active' AND expires_at < ? AND last_used_at >= ?
                        AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND (lease_until IS NULL OR lease_until < ?)
                    ORDER BY expires_at LIMIT ?
                    """, [horizon, recent, now, now, limit]).map { TokenOwner.account(try $0.get("id")) }
                return services + accounts
            }
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
            let (counts, depth, backlog) = try await database.asyncRead { connection -> ([String: Int], Int, Int) in
                var counts: [String: Int] = [:]
                for row in try connection.query("SELECT status, COUNT(*) AS n FROM accounts GROUP BY status") {
                    counts[try row.get("status")] = Int(try row.get("n") as Int64)
                }
                let depth = try connection.queryOne(
                    "SELECT COUNT(*) AS n FROM callback_inbox WHERE status IN ('received', 'exchanging')")?
                    .optional("n") as Int64? ?? 0
                // Ids only grow and only delivered events are pruned: the difference is the backlog.
                let backlog = try connection.queryOne(
                    "SELECT COALESCE(MAX(id), 0) - (SELECT last_event_id FROM webhook_cursor WHERE id = 1) AS n FROM events")?
                    .optional("n") as Int64? ?? 0
                return (counts, Int(depth), Int(max(0, backlog)))
            }
            for status in AccountStatus.allCases { metrics.accounts(status, counts[status.rawValue] ?? 0) }
            metrics.inboxDepth.record(depth)
            if configuration.webhookURL != nil { metrics.webhookBacklog.record(backlog) }
        } catch {
            logger.error("reading gauges failed", metadata: ["error": "\(error)"])
        }
    }
}
