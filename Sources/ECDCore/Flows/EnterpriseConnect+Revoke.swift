import ECDCronofy
import ECDSQLite
import Foundation
import Logging

/// Revocation. An account: revoke its refresh token at Cronofy (its `sub` when that fails), then
/// erase its tokens and mark it `revoked`. A service account: revoke it (Cronofy cascades to every
/// account it authorized), then mark it and all its accounts `revoked` with their tokens erased.
///
/// Only a confirmation counts: Cronofy's 200, or an answer that says the grant is already gone
/// (`invalid_grant`, 404). Anything else (`invalid_client`, 401, 403, 5xx, a timeout) keeps the
/// tokens, answers `502 cronofy_revoke_failed` and leaves the revocation `pending`, retried in the
/// background until Cronofy confirms or an operator erases locally (`localOnly`), which records that
/// Cronofy may still hold the grant.
///
/// The revocation is `pending` from before Cronofy is asked, and its outcome (a failure, or the
/// confirmation) is written only while that mark stands: a local-only erase in between takes the
/// mark away and cancels the retry, and a late refusal no longer brings it back. A renewal in
/// flight is cancelled when the revocation starts (event `account.renewal_failed`, `revoked`).
extension EnterpriseConnect {
    public func revokeAccount(email: String, localOnly: Bool = false) async throws -> Account {
        let key = Email.key(email)
        if localOnly { return try await eraseAccountLocally(emailKey: key, email: email) }
        let now = Date()
        let claim = now.addingTimeInterval(Self.revokeClaim.timeInterval)
        // Marked `pending` before Cronofy is asked: a request for the account is refused meanwhile
        // (409 account_revoking), a crash leaves it to the background retry, and the outcome is
        // written only while the mark stands (a concurrent local-only erase takes it away).
        // A renewal in flight is cancelled here, whatever Cronofy answers: once a revocation has
        // started, no late callback brings a new grant in (it is a 404, and an exchange already
        // under way finds its request superseded).
        let record = try await database.asyncWrite { connection -> AccountRecord in
            guard let record = try AccountRecord.load(connection, emailKey: key) else {
                throw CoreError.notFound("no account \(email)")
            }
            try connection.execute(
                "UPDATE accounts SET revoke_state = 'pending', revoke_next_at = ? WHERE id = ?", [claim, record.rowID])
            if record.isRenewal { try Self.cancelRenewal(connection, record, now: now) }
            return record
        }
        let refreshToken = try record.refreshToken.map {
            try secrets.open($0, table: "accounts", row: String(record.rowID), column: "refresh_token")
        }
        if let failure = await revokeAtCronofy(token: refreshToken, sub: record.sub) {
            let recorded = try await recordRevokeFailure(.account(record.rowID), failure: failure,
                                                         serviceAccountID: record.serviceAccountID, email: record.email)
            throw Self.revokeFailed(failure, retried: recorded)
        }
        let (account, applied) = try await database.asyncWrite { connection -> (Account, Bool) in
            // Confirmed: applies while the mark stands, or to an account erased meanwhile (whose
            // local-only mark the confirmation replaces); not to one requested again since.
            let wasRevoked = try AccountRecord.load(connection, rowID: record.rowID)?.status == .revoked
            try connection.execute(
                """
                UPDATE accounts SET status = 'revoked', \(Self.eraseAccountColumns), revoke_state = NULL,
                    revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
                WHERE id = ? AND (revoke_state = 'pending' OR status = 'revoked')
                """, [now, record.rowID])
            let applied = connection.changes > 0
            if applied {
                try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [record.rowID])
                if !wasRevoked {
                    try EventLog.append(connection, .accountRevoked, serviceAccountID: record.serviceAccountID,
                                        email: record.email, data: [:], at: now)
                }
            }
            guard let updated = try AccountRecord.load(connection, rowID: record.rowID) else {
                throw CoreError.notFound("no account \(email)")
            }
            return (updated.model, applied)
        }
        if applied {
            cache.invalidate(key)
            logger.info("account revoked", metadata: ["email": "\(record.email)"])
        } else {
            logger.info("revocation confirmed for an account requested again meanwhile; the new request stands",
                        metadata: ["email": "\(record.email)"])
        }
        return account
    }

    /// `local_only`: the tokens are erased here and Cronofy is not asked. A revocation still
    /// pending (retried in the background, or under way right now) is given up: its outcome is
    /// no longer written.
    private func eraseAccountLocally(emailKey key: String, email: String) async throws -> Account {
        let now = Date()
        let (account, record) = try await database.asyncWrite { connection -> (Account, AccountRecord) in
            guard let record = try AccountRecord.load(connection, emailKey: key) else {
                throw CoreError.notFound("no account \(email)")
            }
            try connection.execute(
                """
                UPDATE accounts SET status = 'revoked', \(Self.eraseAccountColumns),
                    revoke_state = CASE WHEN status != 'revoked' OR revoke_state = 'pending' THEN 'local_only' ELSE revoke_state END,
                    revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
                WHERE id = ?
                """, [now, record.rowID])
            try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [record.rowID])
            if record.status != .revoked {
                try EventLog.append(connection, .accountRevoked, serviceAccountID: record.serviceAccountID,
                                    email: record.email, data: Self.revokedData(localOnly: true), at: now)
            }
            guard let updated = try AccountRecord.load(connection, rowID: record.rowID) else {
                throw CoreError.notFound("no account \(email)")
            }
            return (updated.model, record)
        }
        cache.invalidate(key)
        logger.warning("account erased locally only; Cronofy may still hold its grant", metadata: ["email": "\(record.email)"])
        return account
    }

    /// Everything a revoked account loses: its tokens, its request (a callback for it is then a
    /// 404) and any renewal.
    static let eraseAccountColumns = """
        access_token = NULL, refresh_token = NULL, key_id = NULL, expires_at = NULL, state = NULL, request_id = NULL,
            state_hash = NULL, lease_owner = NULL, lease_until = NULL, renewal_status = NULL, renewal_scope = NULL,
            renewal_service_account_id = NULL, renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
        """

    /// How long a revocation under way keeps the background retry off it: longer than Cronofy's
    /// answers can take (two attempts, token and sub); after a crash the retry takes over then.
    static let revokeClaim: Duration = .seconds(300)

    /// A revocation supersedes the renewal of the account: the renewal ends `failed`
    /// (`revoked`), the active grant keeps serving until Cronofy confirms the revocation.
    private static func cancelRenewal(_ connection: Connection, _ record: AccountRecord, now: Date) throws {
        try connection.execute(
            """
            UPDATE accounts SET request_id = NULL, state = NULL, state_hash = NULL, renewal_next_attempt_at = NULL,
                renewal_status = NULL, renewal_scope = NULL, renewal_service_account_id = NULL,
                renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
            WHERE id = ?
            """, [record.rowID])
        try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [record.rowID])
        var data: [String: JSONValue] = ["error": .string("revoked"),
                                         "message": .string("the account is being revoked: the renewal was cancelled")]
        if let scope = record.renewalScope { data["scope"] = .string(scope) }
        try EventLog.append(connection, .accountRenewalFailed, serviceAccountID: record.requestServiceAccountID,
                            email: record.email, data: data, at: now)
    }

    public func revokeServiceAccount(id: String, localOnly: Bool = false) async throws -> ServiceAccount {
        let now = Date()
        let claim = now.addingTimeInterval(Self.revokeClaim.timeInterval)
        // As for an account: marked before Cronofy is asked, the outcome written only while the
        // mark stands (or to a service account erased meanwhile).
        let record = try await database.asyncWrite { connection -> ServiceAccountRecord in
            guard let record = try ServiceAccountRecord.load(connection, id: id) else {
                throw CoreError.notFound("no service account \(id)")
            }
            if !localOnly {
                try connection.execute(
                    "UPDATE service_accounts SET revoke_state = 'pending', revoke_next_at = ? WHERE id = ?", [claim, id])
            }
            return record
        }
        if !localOnly {
            let refreshToken = try record.refreshToken.map {
                try secrets.open($0, table: "service_accounts", row: id, column: "refresh_token")
            }
            if let failure = await revokeAtCronofy(token: refreshToken, sub: id) {
                let recorded = try await recordRevokeFailure(.serviceAccount(id), failure: failure,
                                                             serviceAccountID: id, email: nil)
                throw Self.revokeFailed(failure, retried: recorded)
            }
        }
        let mark = localOnly ? "local_only" : nil
        let (model, emailKeys) = try await database.asyncWrite { connection -> (ServiceAccount, [String]) in
            let wasRevoked = try ServiceAccountRecord.load(connection, id: id)?.status == .revoked
            if localOnly {
                try connection.execute(
                    """
                    UPDATE service_accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                        expires_at = NULL, lease_owner = NULL, lease_until = NULL,
                        revoke_state = CASE WHEN status != 'revoked' OR revoke_state = 'pending' THEN 'local_only' ELSE revoke_state END,
                        revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
                    WHERE id = ?
                    """, [now, id])
            } else {
                try connection.execute(
                    """
                    UPDATE service_accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                        expires_at = NULL, lease_owner = NULL, lease_until = NULL, revoke_state = NULL,
                        revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
                    WHERE id = ? AND (revoke_state = 'pending' OR status = 'revoked')
                    """, [now, id])
            }
            let applied = connection.changes > 0
            guard let updated = try ServiceAccountRecord.load(connection, id: id) else {
                throw CoreError.notFound("no service account \(id)")
            }
            // Reconnected meanwhile after a local-only erase: the new connection stands.
            guard applied else { return (updated.model, []) }
            if !wasRevoked {
                try EventLog.append(connection, .serviceAccountRevoked, serviceAccountID: id, email: nil,
                                    data: Self.revokedData(localOnly: localOnly), at: now)
            }
            let rows = try connection.query(
                "SELECT id, email, email_key FROM accounts WHERE service_account_id = ? AND status != 'revoked'", [id])
            for row in rows {
                let rowID: Int64 = try row.get("id")
                try connection.execute(
                    """
                    UPDATE accounts SET status = 'revoked', \(Self.eraseAccountColumns), revoke_state = ?,
                        revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
                    WHERE id = ?
                    """, [mark, now, rowID])
                try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [rowID])
                var data = Self.revokedData(localOnly: localOnly)
                data["reason"] = "service_account_revoked"
                try EventLog.append(connection, .accountRevoked, serviceAccountID: id, email: row.optional("email"),
                                    data: data, at: now)
            }
            return (updated.model, rows.compactMap { $0.optional("email_key") as String? })
        }
        for key in emailKeys { cache.invalidate(key) }
        let metadata: Logger.Metadata = ["service_account_id": "\(id)", "accounts": .stringConvertible(emailKeys.count)]
        if localOnly {
            logger.warning("service account erased locally only; Cronofy may still hold its grant", metadata: metadata)
        } else {
            logger.info("service account revoked", metadata: metadata)
        }
        return model
    }

    static let localOnlyNotice = "erased here only: Cronofy did not confirm the revocation and may still hold the grant"

    private static func revokedData(localOnly: Bool) -> [String: JSONValue] {
        localOnly ? ["local_only": .bool(true), "message": .string(localOnlyNotice)] : [:]
    }

    private static func revokeFailed(_ failure: CronofyError, retried: Bool) -> CoreError {
        guard retried else {
            return .cronofyRevokeFailed("Cronofy did not confirm the revocation (\(failure)); meanwhile it was erased here "
                                        + "only (local_only) or finished by another revocation, so it is not retried")
        }
        return .cronofyRevokeFailed("Cronofy did not confirm the revocation (\(failure)); the tokens are kept and the "
                                    + "revocation is retried in the background; DELETE with local_only=true erases them here only")
    }

    /// Refresh token first (it cannot have expired), `sub` as the fallback. Returns nil once Cronofy
    /// confirmed (or said the grant is already gone), else its last refusal.
    private func revokeAtCronofy(token: String?, sub: String?) async -> CronofyError? {
        var failure: CronofyError?
        if let token {
            do {
                try await cronofy.revoke(token: token)
                return nil
            } catch {
                if Self.meansAlreadyRevoked(error) { return nil }
                logger.info("revoking by token failed, trying sub", metadata: ["error": "\(error)"])
                failure = error
            }
        }
        guard let sub else { return failure }
        do {
            try await cronofy.revoke(sub: sub)
            return nil
        } catch {
            if Self.meansAlreadyRevoked(error) {
                logger.info("Cronofy no longer knows the authorization", metadata: ["error": "\(error)"])
                return nil
            }
            return error
        }
    }

    /// The answers that say the grant is gone already: `invalid_grant` and "no such token" (404).
    /// `invalid_client`, 401 and 403 say nothing about the grant: the credentials were refused.
    static func meansAlreadyRevoked(_ error: CronofyError) -> Bool {
        switch error {
        case .invalidGrant, .notFound: return true
        default: return false
        }
    }

    /// Keeps the tokens and schedules the next background attempt (backing off per failure), while
    /// the revocation is still `pending`: an erase here only (`local_only`) or a revocation that
    /// finished meanwhile is not undone. Returns whether the failure was recorded.
    private func recordRevokeFailure(_ owner: TokenOwner, failure: CronofyError,
                                     serviceAccountID: String?, email: String?) async throws -> Bool {
        let now = Date()
        let table = owner.table
        let cap = configuration.maxBackoff
        let recorded = try await database.asyncWrite { connection -> Bool in
            let key = owner.keyValue
            guard let row = try connection.queryOne(
                "SELECT revoke_attempts FROM \(table) WHERE id = ? AND revoke_state = 'pending'", [key]) else { return false }
            let attempts = Int(row.optional("revoke_attempts") as Int64? ?? 0) + 1
            let next = now.addingTimeInterval(Backoff.delay(failures: attempts, cap: cap).timeInterval)
            try connection.execute(
                "UPDATE \(table) SET revoke_attempts = ?, revoke_next_at = ? WHERE id = ? AND revoke_state = 'pending'",
                [attempts, next, key])
            let type: EventType = table == "accounts" ? .accountRevokeFailed : .serviceAccountRevokeFailed
            try EventLog.append(connection, type, serviceAccountID: serviceAccountID, email: email,
                                data: ["error": .string(failure.outcome), "message": .string(failure.description),
                                       "attempts": .number(Double(attempts)), "next_attempt_at": .string(ISO8601.string(from: next))],
                                at: now)
            return true
        }
        if recorded {
            logger.warning("Cronofy did not confirm a revocation; retrying in the background",
                           metadata: ["table": "\(table)", "error": "\(failure)"])
        } else {
            logger.warning("Cronofy did not confirm a revocation given up on meanwhile; not retried",
                           metadata: ["table": "\(table)", "error": "\(failure)"])
        }
        return recorded
    }

    /// The background retry of revocations Cronofy has not confirmed yet.
    func retryRevocations(limit: Int = 20) async {
        let now = Date()
        let due: (accounts: [String], services: [String])
        do {
            due = try await database.asyncRead { connection in
                let accounts = try connection.query(
                    "SELECT email FROM accounts WHERE revoke_state = 'pending' AND revoke_next_at <= ? LIMIT ?", [now, limit])
                    .map { try $0.get("email") as String }
                let services = try connection.query(
                    "SELECT id FROM service_accounts WHERE revoke_state = 'pending' AND revoke_next_at <= ? LIMIT ?", [now, limit])
                    .map { try $0.get("id") as String }
                return (accounts, services)
            }
        } catch {
            logger.error("revocation sweep failed", metadata: ["error": "\(error)"])
            return
        }
        for id in due.services where !stopping { _ = try? await revokeServiceAccount(id: id) }
        for email in due.accounts where !stopping { _ = try? await revokeAccount(email: email) }
    }
}
