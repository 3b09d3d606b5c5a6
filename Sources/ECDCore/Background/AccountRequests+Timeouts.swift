import FoundationEssentials

/// The sweep's half of the callback wait.
extension AccountRequests {
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
            for key in dropped { vault.cache.invalidate(key) }
            if expired > 0 { logger.warning("delegated access requests timed out", metadata: ["accounts": .stringConvertible(expired)]) }
            if !again.isEmpty {
                for request in again where !request.renewal { vault.cache.invalidate(request.emailKey) }
                logger.warning("no callback came; asking Cronofy again", metadata: ["accounts": .stringConvertible(again.count)])
                await send(again)
            }
        } catch {
            logger.error("callback timeout sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
