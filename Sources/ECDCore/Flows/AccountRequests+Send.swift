import ECDCronofy
import FoundationEssentials

/// Sending one batch of delegated-access requests with a service account's token: a 401 refreshes
/// that token and retries once, a 422 fails the batch's entries with Cronofy's message, a transient
/// failure leaves them pending for the unsent-requests sweep.
extension AccountRequests {
    func sendBatch(_ serviceAccountID: String, _ batch: [PreparedRequest]) async {
        let owner = TokenOwner.serviceAccount(serviceAccountID)
        let requests = batch.map {
            DelegatedAccessRequest(email: $0.email, callbackURL: $0.callbackURL, scope: $0.scope, state: $0.state)
        }
        var outcome = await authorize(owner, requests, forceRefresh: false)
        if case .failure(.cronofy(.unauthorized)) = outcome {
            // The token was refused although unexpired: refresh it and try once more.
            outcome = await authorize(owner, requests, forceRefresh: true)
        }
        switch outcome {
        case .success:
            await markSent(batch)
        case .failure(.core(.accountNotActive(let status))):
            await failBatch(batch, AccountError(error: "service_account_unavailable", errorKey: nil,
                                          errorDescription: "the service account is \(status.rawValue)"))
        case .failure(.core(.notFound)):
            await failBatch(batch, AccountError(error: "service_account_unavailable", errorKey: nil,
                                          errorDescription: "the service account no longer exists"))
        case .failure(.core(let error)):
            await deferBatch(batch, reason: "\(error)")
        case .failure(.other(let description)):
            await deferBatch(batch, reason: description)
        case .failure(.cronofy(let error)):
            switch error {
            case .unprocessable(let errors):
                let keys = errors.values.flatMap { $0 }.map(\.key)
                let message = errors.keys.sorted().map { field in
                    "\(field): " + (errors[field] ?? []).map { $0.description ?? $0.key }.joined(separator: ", ")
                }.joined(separator: "; ")
                await failBatch(batch, AccountError(error: "request_refused", errorKey: keys.first,
                                              errorDescription: Self.clip(message)))
            case .unauthorized:
                await failBatch(batch, AccountError(error: "service_account_unauthorized", errorKey: nil,
                                              errorDescription: "Cronofy refused the service account's token twice"))
            case .forbidden:
                await failBatch(batch, AccountError(error: "forbidden", errorKey: nil,
                                              errorDescription: "the service account may not grant this scope"))
            case .paymentRequired:
                await failBatch(batch, AccountError(error: "cronofy_plan_required", errorKey: nil,
                                              errorDescription: CoreError.planRequiredMessage))
            default:
                if error.isTransient {
                    await deferBatch(batch, reason: "\(error)")
                } else {
                    await failBatch(batch, AccountError(error: "request_failed", errorKey: nil,
                                                  errorDescription: Self.clip("\(error)")))
                }
            }
        }
    }

    enum SendFailure: Error {
        case cronofy(CronofyError)
        case core(CoreError)
        case other(String)
    }

    private func authorize(_ owner: TokenOwner, _ requests: [DelegatedAccessRequest],
                           forceRefresh: Bool) async -> Result<Void, SendFailure> {
        let token: String
        do {
            token = forceRefresh
                ? try await vault.refreshedToken(owner, force: true, minValidity: .zero).accessToken
                : try await vault.validToken(owner, minValidity: .seconds(60)).accessToken
        } catch let error as CoreError {
            return .failure(.core(error))
        } catch {
            return .failure(.other("\(error)"))
        }
        do {
            try await cronofy.authorizeWithServiceAccount(accessToken: token, requests: requests)
            return .success(())
        } catch {
            return .failure(.cronofy(error))
        }
    }

    private func markSent(_ batch: [PreparedRequest]) async {
        let now = Date()
        do {
            try await storage.transaction { transaction in
                for request in batch { try transaction.markSent(rowID: request.rowID, requestID: request.requestID, now: now) }
            }
        } catch {
            logger.error("recording sent requests failed", metadata: ["error": "\(error)"])
        }
    }

    private func deferBatch(_ batch: [PreparedRequest], reason: String) async {
        logger.warning("delegated access requests not sent, will retry",
                       metadata: ["accounts": .stringConvertible(batch.count), "error": "\(reason)"])
        do {
            let cap = configuration.maxBackoff
            let now = Date()
            try await storage.transaction { transaction in
                for request in batch {
                    try transaction.deferSend(rowID: request.rowID, requestID: request.requestID, now: now) { failures in
                        Backoff.delay(failures: failures, cap: cap)
                    }
                }
            }
        } catch {
            logger.error("recording unsent requests failed", metadata: ["error": "\(error)"])
        }
    }

    func failBatch(_ batch: [PreparedRequest], _ failure: AccountError) async {
        let now = Date()
        logger.warning("delegated access requests failed",
                       metadata: ["accounts": .stringConvertible(batch.count), "error": "\(failure.error)"])
        do {
            let dropped = try await storage.transaction { [self] transaction in
                try batch.compactMap { try failAccount(transaction, rowID: $0.rowID, requestID: $0.requestID, failure, now: now) }
            }
            for key in dropped { vault.cache.invalidate(key) }
        } catch {
            logger.error("recording failed requests failed", metadata: ["error": "\(error)"])
        }
    }

    /// `pending` → `failed` with the event, when the request is still the current one. A refused
    /// or timed-out automatic re-request (`reauthorizing`) ends `reauthorization_required` instead
    /// and returns the email key whose cached token the caller drops once the transaction has
    /// committed (dropped earlier, a token read in between could put it back from the old row).
    /// A failed renewal leaves the active grant in place: `renewal.status` becomes `failed` and
    /// the event is `account.renewal_failed`.
    func failAccount(_ transaction: any CoreTransaction, rowID: Int64, requestID: String?, _ failure: AccountError,
                     now: Date) throws -> String? {
        let previous = try transaction.accountStatus(rowID: rowID)
        if previous == AccountStatus.active.rawValue {
            guard let renewal = try transaction.failRenewal(rowID: rowID, requestID: requestID, failure: failure, now: now) else {
                return nil
            }
            var data = Self.failureData(failure)
            if let scope = renewal.scope { data["scope"] = .string(scope) }
            try transaction.appendEvent(.accountRenewalFailed, serviceAccountID: renewal.serviceAccountID, email: renewal.email,
                                        data: data, at: now)
            return nil
        }
        let reauthorizing = previous == AccountStatus.reauthorizing.rawValue
        guard let account = try transaction.failRequest(
            rowID: rowID, requestID: requestID, status: reauthorizing ? .reauthorizationRequired : .failed,
            failure: failure, now: now) else { return nil }
        var data = Self.failureData(failure)
        if reauthorizing { data["reason"] = "reauthorization_failed" }
        try transaction.appendEvent(reauthorizing ? .accountReauthorizationRequired : .accountFailed,
                                    serviceAccountID: account.serviceAccountID, email: account.email, data: data, at: now)
        return reauthorizing ? account.emailKey : nil
    }

    private static func failureData(_ failure: AccountError) -> [String: JSONValue] {
        var data: [String: JSONValue] = ["error": .string(failure.error)]
        if let key = failure.errorKey { data["error_key"] = .string(key) }
        if let description = failure.errorDescription { data["error_description"] = .string(description) }
        return data
    }

    /// The sweep's half of sending: pending requests Cronofy never accepted, due again.
    func resendUnsent(limit: Int = 200) async {
        let now = Date()
        let due: [PreparedRequest]
        do {
            due = try await storage.transaction { [self] transaction in
                var due: [PreparedRequest] = []
                for request in try transaction.unsentRequests(now: now, limit: limit) {
                    guard let serviceAccountID = request.requestServiceAccountID else { continue }
                    let state = try secrets.open(request.sealedState, table: "accounts", row: String(request.rowID), column: "state")
                    // Claimed for a minute, so the next sweep does not send it again meanwhile.
                    try transaction.claimSend(rowID: request.rowID, renewal: request.renewal, until: now.addingTimeInterval(60))
                    due.append(PreparedRequest(rowID: request.rowID, email: request.email, emailKey: request.emailKey,
                                               scope: request.requestScope, serviceAccountID: serviceAccountID,
                                               requestID: request.requestID, state: state,
                                               callbackURL: request.callbackURL
                                                   ?? configuration.delegatedCallbackURL(requestID: request.requestID),
                                               renewal: request.renewal))
                }
                return due
            }
        } catch {
            logger.error("reading unsent requests failed", metadata: ["error": "\(error)"])
            return
        }
        if !due.isEmpty {
            logger.info("resending delegated access requests", metadata: ["accounts": .stringConvertible(due.count)])
            await send(due)
        }
    }
}
