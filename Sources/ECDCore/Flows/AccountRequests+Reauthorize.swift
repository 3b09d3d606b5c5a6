import FoundationEssentials
import Logging

/// Dead delegated grants heal themselves. Enterprise Connect lets the service account ask again for
/// any mailbox of its domain, so when Cronofy refuses an account's refresh token (`invalid_grant`)
/// and the service account is active, ecd re-requests access by itself: the account becomes
/// `reauthorizing` (event `account.reauthorizing`), keeps serving its current access token while it
/// lasts, and the callback brings it back to `active`. A refused or timed-out re-request ends
/// `reauthorization_required`, as does a second dead grant within `reauthorizeInterval`.
extension AccountRequests {
    /// Starts the re-request; false when the account cannot heal by itself (its service account is
    /// not active, it was re-requested too recently, or the spent refresh token is no longer the
    /// stored one).
    func beginReauthorization(_ state: TokenState) async throws -> Bool {
        guard case .account(let rowID) = state.owner else { return false }
        let now = Date()
        let interval = configuration.reauthorizeInterval.timeInterval
        let prepared = try await storage.transaction { [self] transaction -> PreparedRequest? in
            guard let candidate = try transaction.reauthorizationCandidate(rowID: rowID, spentRefreshToken: state.refreshToken),
                  candidate.serviceAccountStatus == ServiceAccountStatus.active.rawValue else { return nil }
            if let last = candidate.lastReauthorizationAt, now.timeIntervalSince(last) < interval { return nil }
            let requestID = try Self.randomToken()
            let requestState = try Self.randomToken()
            let sealedState = try secrets.seal(requestState, table: "accounts", row: String(rowID), column: "state")
            let callbackURL = configuration.delegatedCallbackURL(requestID: requestID)
            try transaction.beginReauthorization(ReauthorizationWrite(
                rowID: rowID, requestID: requestID, stateHash: SecretHash.of(requestState), sealedState: sealedState,
                sendDeadline: now.addingTimeInterval(60), callbackURL: callbackURL, now: now))
            try transaction.clearInbox(accountRow: rowID)
            try transaction.appendEvent(.accountReauthorizing, serviceAccountID: candidate.serviceAccountID, email: candidate.email,
                                        data: ["reason": "invalid_grant", "scope": .string(candidate.scope)], at: now)
            return PreparedRequest(rowID: rowID, email: candidate.email, emailKey: candidate.emailKey, scope: candidate.scope,
                                   serviceAccountID: candidate.serviceAccountID, requestID: requestID, state: requestState,
                                   callbackURL: callbackURL)
        }
        guard let prepared else { return false }
        logger.warning("Cronofy refused the account's refresh token; asking again through its service account",
                       metadata: ["email": "\(prepared.email)", "service_account_id": "\(prepared.serviceAccountID)"])
        background.spawn { [self] in await send([prepared]) }
        return true
    }
}
