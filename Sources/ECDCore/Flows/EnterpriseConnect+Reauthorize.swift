import ECDSQLite
import Foundation
import Logging

/// Dead delegated grants heal themselves. Enterprise Connect lets the service account ask again for
/// any mailbox of its domain, so when Cronofy refuses an account's refresh token (`invalid_grant`)
/// and the service account is active, ecd re-requests access by itself: the account becomes
/// `reauthorizing` (event `account.reauthorizing`), keeps serving its current access token while it
/// lasts, and the callback brings it back to `active`. A refused or timed-out re-request ends
/// `reauthorization_required`, as does a second dead grant within `reauthorizeInterval`.
extension EnterpriseConnect {
    /// Starts the re-request; false when the account cannot heal by itself (its service account is
    /// not active, it was re-requested too recently, or the spent refresh token is no longer the
    /// stored one).
    func beginReauthorization(_ state: TokenState) async throws -> Bool {
        guard case .account(let rowID) = state.owner else { return false }
        let now = Date()
        let interval = configuration.reauthorizeInterval.timeInterval
        let prepared = try await database.asyncWrite { [self] connection -> PreparedRequest? in
            guard let row = try connection.queryOne(
                """
                SELECT a.email, a.email_key, a.scope, a.service_account_id, a.reauthorize_requested_at, s.status AS service_status
                FROM accounts a JOIN service_accounts s ON s.id = a.service_account_id
                WHERE a.id = ? AND a.status = 'active' AND a.refresh_token IS ?
                """, [rowID, state.refreshToken]) else { return nil }
            guard (row.optional("service_status") as String?) == ServiceAccountStatus.active.rawValue else { return nil }
            if let last: Date = row.optional("reauthorize_requested_at"), now.timeIntervalSince(last) < interval { return nil }
            let email: String = try row.get("email")
            let scope: String = try row.get("scope")
            let serviceAccountID: String = try row.get("service_account_id")
            let requestID = try Self.randomToken()
            let requestState = try Self.randomToken()
            let sealedState = try secrets.seal(requestState, table: "accounts", row: String(rowID), column: "state")
            let callbackURL = configuration.delegatedCallbackURL(requestID: requestID)
            // The access token stays (it is served while it lasts); the dead refresh token goes.
            try connection.execute(
                """
                UPDATE accounts SET status = 'reauthorizing', refresh_token = NULL, request_id = ?, state_hash = ?,
                    state = ?, request_sent_at = NULL, error = NULL, error_key = NULL, error_description = NULL,
                    refresh_failures = 0, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL,
                    reauthorize_requested_at = ?, requested_at = ?, callback_url = ?, callback_attempt = 1, updated_at = ?,
                    renewal_status = NULL, renewal_scope = NULL, renewal_service_account_id = NULL,
                    renewal_error = NULL, renewal_error_key = NULL, renewal_error_description = NULL
                WHERE id = ?
                """, [requestID, SecretHash.of(requestState), sealedState, now.addingTimeInterval(60), now, now, callbackURL,
                      now, rowID])
            try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [rowID])
            try EventLog.append(connection, .accountReauthorizing, serviceAccountID: serviceAccountID, email: email,
                                data: ["reason": "invalid_grant", "scope": .string(scope)], at: now)
            return PreparedRequest(rowID: rowID, email: email, emailKey: try row.get("email_key"), scope: scope,
                                   serviceAccountID: serviceAccountID, requestID: requestID, state: requestState,
                                   callbackURL: callbackURL)
        }
        guard let prepared else { return false }
        logger.warning("Cronofy refused the account's refresh token; asking again through its service account",
                       metadata: ["email": "\(prepared.email)", "service_account_id": "\(prepared.serviceAccountID)"])
        background.spawn { [self] in await send([prepared]) }
        return true
    }
}
