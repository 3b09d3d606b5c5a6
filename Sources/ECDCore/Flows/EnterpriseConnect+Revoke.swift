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
extension EnterpriseConnect {
    public func revokeAccount(email: String, localOnly: Bool = false) async throws -> Account {
        let key = Email.key(email)
        guard let record = try await database.asyncRead({ try AccountRecord.load($0, emailKey: key) }) else {
            throw CoreError.notFound("no account \(email)")
        }
        if !localOnly {
            let refreshToken = try record.refreshToken.map {
                try secrets.open($0, table: "accounts", row: String(record.rowID), column: "refresh_token")
            }
            if let failure = await revokeAtCronofy(token: refreshToken, sub: record.sub) {
                try await recordRevokeFailure(.account(record.rowID), failure: failure,
                                              serviceAccountID: record.serviceAccountID, email: record.email)
                throw Self.revokeFailed(failure)
            }
        }
        let now = Date()
        let mark = localOnly && record.status != .revoked ? "local_only" : nil
        let account = try await database.asyncWrite { connection -> Account in
            try connection.execute(
                """
                UPDATE accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                    expires_at = NULL, state = NULL, request_id = NULL, state_hash = NULL, lease_owner = NULL,
                    lease_until = NULL, revoke_state = COALESCE(?, CASE WHEN status = 'revoked' AND ? = 1 THEN revoke_state END),
                    revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
                WHERE id = ?
                """, [mark, localOnly, now, record.rowID])
            try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [record.rowID])
            if record.status != .revoked {
                try EventLog.append(connection, .accountRevoked, serviceAccountID: record.serviceAccountID,
                                    email: record.email, data: Self.revokedData(localOnly: localOnly), at: now)
            }
            guard let updated = try AccountRecord.load(connection, rowID: record.rowID) else {
                throw CoreError.notFound("no account \(email)")
            }
            return updated.model
        }
        cache.invalidate(key)
        if localOnly {
            logger.warning("account erased locally only; Cronofy may still hold its grant", metadata: ["email": "\(record.email)"])
        } else {
            logger.info("account revoked", metadata: ["email": "\(record.email)"])
        }
        return account
    }

    public func revokeServiceAccount(id: String, localOnly: Bool = false) async throws -> ServiceAccount {
        guard let record = try await database.asyncRead({ try ServiceAccountRecord.load($0, id: id) }) else {
            throw CoreError.notFound("no service account \(id)")
        }
        if !localOnly {
            let refreshToken = try record.refreshToken.map {
                try secrets.open($0, table: "service_accounts", row: id, column: "refresh_token")
            }
            if let failure = await revokeAtCronofy(token: refreshToken, sub: id) {
                try await recordRevokeFailure(.serviceAccount(id), failure: failure,
                                              serviceAccountID: id, email: nil)
                throw Self.revokeFailed(failure)
            }
        }
        let now = Date()
        let mark = localOnly && record.status != .revoked ? "local_only" : nil
        let (model, emailKeys) = try await database.asyncWrite { connection -> (ServiceAccount, [String]) in
            try connection.execute(
                """
                UPDATE service_accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                    expires_at = NULL, lease_owner = NULL, lease_until = NULL,
                    revoke_state = COALESCE(?, CASE WHEN status = 'revoked' AND ? = 1 THEN revoke_state END),
                    revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
                WHERE id = ?
                """, [mark, localOnly, now, id])
            if record.status != .revoked {
                try EventLog.append(connection, .serviceAccountRevoked, serviceAccountID: id, email: nil,
                                    data: Self.revokedData(localOnly: localOnly), at: now)
            }
            let rows = try connection.query(
                "SELECT id, email, email_key FROM accounts WHERE service_account_id = ? AND status != 'revoked'", [id])
            for row in rows {
                let rowID: Int64 = try row.get("id")
                try connection.execute(
                    """
                    UPDATE accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                        expires_at = NULL, state = NULL, request_id = NULL, state_hash = NULL, lease_owner = NULL,
                        lease_until = NULL, revoke_state = ?, revoke_attempts = 0, revoke_next_at = NULL, updated_at = ?
                    WHERE id = ?
                    """, [mark, now, rowID])
                try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [rowID])
                var data = Self.revokedData(localOnly: localOnly)
                data["reason"] = "service_account_revoked"
                try EventLog.append(connection, .accountRevoked, serviceAccountID: id, email: row.optional("email"),
                                    data: data, at: now)
            }
            guard let updated = try ServiceAccountRecord.load(connection, id: id) else {
                throw CoreError.notFound("no service account \(id)")
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

    private static func revokeFailed(_ failure: CronofyError) -> CoreError {
        .cronofyRevokeFailed("Cronofy did not confirm the revocation (\(failure)); the tokens are kept and the "
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

    /// Keeps the tokens and schedules the next background attempt (backing off per failure).
    private func recordRevokeFailure(_ owner: TokenOwner, failure: CronofyError,
                                     serviceAccountID: String?, email: String?) async throws {
        let now = Date()
        let table = owner.table
        let cap = configuration.maxBackoff
        try await database.asyncWrite { connection in
            let key = owner.keyValue
            let attempts = Int(try connection.queryOne("SELECT revoke_attempts FROM \(table) WHERE id = ?", [key])?
                .optional("revoke_attempts") as Int64? ?? 0) + 1
            let next = now.addingTimeInterval(Backoff.delay(failures: attempts, cap: cap).timeInterval)
            try connection.execute(
                "UPDATE \(table) SET revoke_state = 'pending', revoke_attempts = ?, revoke_next_at = ? WHERE id = ?",
                [attempts, next, key])
            let type: EventType = table == "accounts" ? .accountRevokeFailed : .serviceAccountRevokeFailed
            try EventLog.append(connection, type, serviceAccountID: serviceAccountID, email: email,
                                data: ["error": .string(failure.outcome), "message": .string(failure.description),
                                       "attempts": .number(Double(attempts)), "next_attempt_at": .string(ISO8601.string(from: next))],
                                at: now)
        }
        logger.warning("Cronofy did not confirm a revocation; retrying in the background",
                       metadata: ["table": "\(table)", "error": "\(failure)"])
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
