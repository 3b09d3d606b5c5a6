import ECDCronofy
import ECDSQLite
import Foundation

/// Revocation. An account: revoke its refresh token at Cronofy (its `sub` when that fails), then
/// erase its tokens and mark it `revoked`. A service account: revoke it (Cronofy cascades to every
/// account it authorized), then mark it and all its accounts `revoked` with their tokens erased.
extension EnterpriseConnect {
    public func revokeAccount(email: String) async throws -> Account {
        let key = Email.key(email)
        guard let record = try await database.asyncRead({ try AccountRecord.load($0, emailKey: key) }) else {
            throw CoreError.notFound("no account \(email)")
        }
        let refreshToken = try record.refreshToken.map {
            try secrets.open($0, table: "accounts", row: String(record.rowID), column: "refresh_token")
        }
        try await revokeAtCronofy(token: refreshToken, sub: record.sub)
        let now = Date()
        let account = try await database.asyncWrite { connection -> Account in
            try connection.execute(
                """
                UPDATE accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                    expires_at = NULL, state = NULL, request_id = NULL, state_hash = NULL, lease_owner = NULL,
                    lease_until = NULL, updated_at = ?
                WHERE id = ?
                """, [now, record.rowID])
            try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [record.rowID])
            if record.status != .revoked {
                try EventLog.append(connection, .accountRevoked, serviceAccountID: record.serviceAccountID,
                                    email: record.email, data: [:], at: now)
            }
            guard let updated = try AccountRecord.load(connection, rowID: record.rowID) else {
                throw CoreError.notFound("no account \(email)")
            }
            return updated.model
        }
        cache.invalidate(key)
        logger.info("account revoked", metadata: ["email": "\(record.email)"])
        return account
    }

    public func revokeServiceAccount(id: String) async throws -> ServiceAccount {
        guard let record = try await database.asyncRead({ try ServiceAccountRecord.load($0, id: id) }) else {
            throw CoreError.notFound("no service account \(id)")
        }
        let refreshToken = try record.refreshToken.map {
            try secrets.open($0, table: "service_accounts", row: id, column: "refresh_token")
        }
        try await revokeAtCronofy(token: refreshToken, sub: id)
        let now = Date()
        let (model, emailKeys) = try await database.asyncWrite { connection -> (ServiceAccount, [String]) in
            try connection.execute(
                """
                UPDATE service_accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                    expires_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ?
                WHERE id = ?
                """, [now, id])
            if record.status != .revoked {
                try EventLog.append(connection, .serviceAccountRevoked, serviceAccountID: id, email: nil, data: [:], at: now)
            }
            let rows = try connection.query(
                "SELECT id, email, email_key FROM accounts WHERE service_account_id = ? AND status != 'revoked'", [id])
            for row in rows {
                let rowID: Int64 = try row.get("id")
                try connection.execute(
                    """
                    UPDATE accounts SET status = 'revoked', access_token = NULL, refresh_token = NULL, key_id = NULL,
                        expires_at = NULL, state = NULL, request_id = NULL, state_hash = NULL, lease_owner = NULL,
                        lease_until = NULL, updated_at = ?
                    WHERE id = ?
                    """, [now, rowID])
                try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [rowID])
                try EventLog.append(connection, .accountRevoked, serviceAccountID: id, email: row.optional("email"),
                                    data: ["reason": "service_account_revoked"], at: now)
            }
            guard let updated = try ServiceAccountRecord.load(connection, id: id) else {
                throw CoreError.notFound("no service account \(id)")
            }
            return (updated.model, rows.compactMap { $0.optional("email_key") as String? })
        }
        for key in emailKeys { cache.invalidate(key) }
        logger.info("service account revoked", metadata: ["service_account_id": "\(id)", "accounts": "\(emailKeys.count)"])
        return model
    }

    /// Refresh token first (it cannot have expired), `sub` as the fallback. An authorization Cronofy
    /// no longer knows is as good as revoked; a Cronofy that cannot be reached is a 503 and nothing
    /// changes here, so the caller can try again.
    private func revokeAtCronofy(token: String?, sub: String?) async throws {
        if let token {
            do {
                try await cronofy.revoke(token: token)
                return
            } catch {
                if error.isTransient, sub == nil { throw CoreError.cronofyUnavailable("revoking failed (\(error))") }
                logger.info("revoking by token failed, trying sub", metadata: ["error": "\(error)"])
            }
        }
        guard let sub else { return }
        do {
            try await cronofy.revoke(sub: sub)
        } catch {
            if error.isTransient { throw CoreError.cronofyUnavailable("revoking failed (\(error))") }
            logger.info("Cronofy no longer knows the authorization", metadata: ["error": "\(error)"])
        }
    }
}
