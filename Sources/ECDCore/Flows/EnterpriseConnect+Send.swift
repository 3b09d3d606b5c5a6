import ECDCronofy
import ECDSQLite
import Foundation

/// Sending one batch of delegated-access requests with a service account's token: a 401 refreshes
/// that token and retries once, a 422 fails the batch's entries with Cronofy's message, a transient
/// failure leaves them pending for the unsent-requests sweep.
extension EnterpriseConnect {
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
                ? try await refreshedToken(owner, force: true, minValidity: .zero).accessToken
                : try await validToken(owner, minValidity: .seconds(60)).accessToken
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

    /// An active account's `next_attempt_at` and `refresh_failures` are its grant's refresh
    /// backoff: a renewal's send claim and retries live in the `renewal_` columns.
    private func markSent(_ batch: [PreparedRequest]) async {
        let now = Date()
        do {
            try await database.asyncWrite { connection in
                for request in batch {
                    try connection.execute(
                        """
                        UPDATE accounts SET request_sent_at = ?, state = NULL,
                            next_attempt_at = CASE WHEN status = 'active' THEN next_attempt_at END,
                            refresh_failures = CASE WHEN status = 'active' THEN refresh_failures ELSE 0 END,
                            renewal_next_attempt_at = NULL, renewal_send_failures = 0
                        WHERE id = ? AND request_id = ?
                        """, [now, request.rowID, request.requestID])
                }
            }
        } catch {
            logger.error("recording sent requests failed", metadata: ["error": "\(error)"])
        }
    }

    private func deferBatch(_ batch: [PreparedRequest], reason: String) async {
        logger.warning("delegated access requests not sent, will retry",
                       metadata: ["accounts": .stringConvertible(batch.count), "error": "\(reason)"])
        do {
            try await database.asyncWrite { [self] connection in
                for request in batch {
                    guard let row = try connection.queryOne(
                        "SELECT status = 'active' AS renewal, refresh_failures, renewal_send_failures FROM accounts WHERE id = ?",
                        [request.rowID]) else { continue }
                    let renewal = (row.optional("renewal") as Int64?) == 1
                    let (failuresColumn, nextColumn) = renewal
                        ? ("renewal_send_failures", "renewal_next_attempt_at") : ("refresh_failures", "next_attempt_at")
                    let failures = Int(row.optional(failuresColumn) as Int64? ?? 0) + 1
                    let delay = Backoff.delay(failures: failures, cap: configuration.maxBackoff)
                    try connection.execute(
                        "UPDATE accounts SET \(failuresColumn) = ?, \(nextColumn) = ? WHERE id = ? AND request_id = ?",
                        [failures, Date().addingTimeInterval(delay.timeInterval), request.rowID, request.requestID])
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
            let dropped = try await database.asyncWrite { [self] connection in
                try batch.compactMap { try failAccount(connection, rowID: $0.rowID, requestID: $0.requestID, failure, now: now) }
            }
            for key in dropped { cache.invalidate(key) }
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
    func failAccount(_ connection: Connection, rowID: Int64, requestID: String?, _ failure: AccountError, now: Date) throws -> String? {
        let previous = try connection.queryOne("SELECT status FROM accounts WHERE id = ?", [rowID])?.optional("status") as String?
        if previous == AccountStatus.active.rawValue {
            try failRenewal(connection, rowID: rowID, requestID: requestID, failure, now: now)
            return nil
        }
        let reauthorizing = previous == AccountStatus.reauthorizing.rawValue
        try connection.execute(
            """
            UPDATE accounts SET status = ?, error = ?, error_key = ?, error_description = ?, state = NULL,
                access_token = NULL, refresh_token = NULL, key_id = NULL, expires_at = NULL, updated_at = ?
            WHERE id = ? AND (? IS NULL OR request_id = ?)
            """,
            [reauthorizing ? AccountStatus.reauthorizationRequired.rawValue : AccountStatus.failed.rawValue,
             failure.error, failure.errorKey, failure.errorDescription, now, rowID, requestID, requestID])
        guard connection.changes > 0,
              let row = try connection.queryOne("SELECT email, email_key, service_account_id FROM accounts WHERE id = ?", [rowID]) else { return nil }
        var data: [String: JSONValue] = ["error": .string(failure.error)]
        if let key = failure.errorKey { data["error_key"] = .string(key) }
        if let description = failure.errorDescription { data["error_description"] = .string(description) }
        if reauthorizing { data["reason"] = "reauthorization_failed" }
        try EventLog.append(connection, reauthorizing ? .accountReauthorizationRequired : .accountFailed,
                            serviceAccountID: row.optional("service_account_id"), email: row.optional("email"), data: data, at: now)
        return reauthorizing ? row.optional("email_key") : nil
    }

    private func failRenewal(_ connection: Connection, rowID: Int64, requestID: String?, _ failure: AccountError, now: Date) throws {
        try connection.execute(
            """
            UPDATE accounts SET renewal_status = 'failed', renewal_error = ?, renewal_error_key = ?,
                renewal_error_description = ?, state = NULL, updated_at = ?
            WHERE id = ? AND status = 'active' AND renewal_status = 'pending' AND (? IS NULL OR request_id = ?)
            """,
            [failure.error, failure.errorKey, failure.errorDescription, now, rowID, requestID, requestID])
        guard connection.changes > 0,
              let row = try connection.queryOne(
                  "SELECT email, renewal_scope, renewal_service_account_id FROM accounts WHERE id = ?", [rowID]) else { return }
        var data: [String: JSONValue] = ["error": .string(failure.error)]
        if let key = failure.errorKey { data["error_key"] = .string(key) }
        if let description = failure.errorDescription { data["error_description"] = .string(description) }
        if let scope: String = row.optional("renewal_scope") { data["scope"] = .string(scope) }
        try EventLog.append(connection, .accountRenewalFailed, serviceAccountID: row.optional("renewal_service_account_id"),
                            email: row.optional("email"), data: data, at: now)
    }

    /// The sweep's half of sending: pending requests Cronofy never accepted, due again.
    func resendUnsent(limit: Int = 200) async {
        let now = Date()
        let due: [PreparedRequest]
        do {
            due = try await database.asyncWrite { [self] connection in
                let rows = try connection.query(
                    """
                    SELECT id, email, email_key, \(AccountRecord.requestScopeSQL) AS request_scope,
                        \(AccountRecord.requestServiceAccountSQL) AS request_service_account_id, request_id, state, callback_url,
                        status = 'active' AS renewal
                    FROM accounts
                    WHERE ((status IN ('pending', 'reauthorizing') AND (next_attempt_at IS NULL OR next_attempt_at <= ?))
                            OR (status = 'active' AND renewal_status = 'pending'
                                AND (renewal_next_attempt_at IS NULL OR renewal_next_attempt_at <= ?)))
                        AND request_sent_at IS NULL AND state IS NOT NULL
                    ORDER BY CASE WHEN status = 'active' THEN renewal_next_attempt_at ELSE next_attempt_at END LIMIT ?
                    """, [now, now, limit])
                var due: [PreparedRequest] = []
                for row in rows {
                    let rowID: Int64 = try row.get("id")
                    let requestID: String = try row.get("request_id")
                    guard let serviceAccountID: String = row.optional("request_service_account_id") else { continue }
                    let state = try secrets.open(try row.get("state"), table: "accounts", row: String(rowID), column: "state")
                    // Claimed for a minute, so the next sweep does not send it again meanwhile.
                    let renewal = (row.optional("renewal") as Int64?) == 1
                    try connection.execute("UPDATE accounts SET \(renewal ? "renewal_next_attempt_at" : "next_attempt_at") = ? WHERE id = ?",
                                           [now.addingTimeInterval(60), rowID])
                    due.append(PreparedRequest(rowID: rowID, email: try row.get("email"), emailKey: try row.get("email_key"),
                                               scope: try row.get("request_scope"), serviceAccountID: serviceAccountID,
                                               requestID: requestID, state: state,
                                               callbackURL: row.optional("callback_url")
                                                   ?? configuration.delegatedCallbackURL(requestID: requestID),
                                               renewal: renewal))
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
