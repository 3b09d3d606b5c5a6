import ECDCronofy
import FoundationEssentials
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
/// mark away and cancels the retry, and a late refusal no longer brings it back; so does a
/// reconnect of the service account (its status is then `active`, so a late confirmation finds
/// neither the mark nor `revoked` and the new connection stands). A renewal in
/// flight is cancelled when the revocation starts (event `account.renewal_failed`, `revoked`).
extension Revocations {
    func revokeAccount(email: String, localOnly: Bool = false) async throws -> Account {
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
        let record = try await storage.transaction { transaction -> AccountRecord in
            guard let record = try transaction.account(emailKey: key) else {
                throw CoreError.notFound("no account \(email)")
            }
            try transaction.beginRevocation(.account(record.rowID), retryAt: claim)
            if record.isRenewal { try Self.cancelRenewal(transaction, record, now: now) }
            return record
        }
        var revoking = record
        var round = 0
        let account: Account, applied: Bool
        rounds: while true {
            round += 1
            let refreshToken = try revoking.refreshToken.map {
                try secrets.open($0, table: "accounts", row: String(revoking.rowID), column: "refresh_token")
            }
            if let failure = await revokeAtCronofy(token: refreshToken, sub: revoking.sub) {
                let recorded = try await recordRevokeFailure(.account(record.rowID), failure: failure,
                                                             serviceAccountID: record.serviceAccountID, email: record.email)
                throw Self.revokeFailed(failure, retried: recorded)
            }
            let sent = revoking.refreshToken
            let mayRepeat = round < Self.rotationRounds
            let confirmed = try await storage.transaction { transaction -> Confirmation<Account, AccountRecord> in
                let current = try transaction.account(rowID: record.rowID)
                // A refresh stored a rotated refresh token since it was read: Cronofy may answer
                // 200 to a token it no longer knows (RFC 7009 §2.2) and keep the grant alive under
                // the new one, so that one is revoked too before anything is confirmed.
                if mayRepeat, let current, current.refreshToken != nil, current.refreshToken != sent,
                   current.revokeState == "pending" {
                    return .rotated(current)
                }
                // Confirmed: applies while the mark stands, or to an account erased meanwhile (whose
                // local-only mark the confirmation replaces); not to one requested again since.
                let wasRevoked = current?.status == .revoked
                let applied = try transaction.confirmAccountRevocation(rowID: record.rowID, now: now)
                if applied, !wasRevoked {
                    try transaction.appendEvent(.accountRevoked, serviceAccountID: record.serviceAccountID,
                                                email: record.email, data: [:], at: now)
                }
                guard let updated = try transaction.account(rowID: record.rowID) else {
                    throw CoreError.notFound("no account \(email)")
                }
                return .done(updated.model, applied)
            }
            switch confirmed {
            case .rotated(let current):
                logger.info("the refresh token was rotated while the revocation ran; revoking the new one",
                            metadata: ["email": "\(record.email)"])
                revoking = current
            case .done(let confirmedAccount, let wasApplied):
                (account, applied) = (confirmedAccount, wasApplied)
                break rounds
            }
        }
        if applied {
            vault.cache.invalidate(key)
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
        let (account, record) = try await storage.transaction { transaction -> (Account, AccountRecord) in
            guard let record = try transaction.account(emailKey: key) else {
                throw CoreError.notFound("no account \(email)")
            }
            try transaction.eraseAccountLocally(rowID: record.rowID, now: now)
            if record.status != .revoked {
                try transaction.appendEvent(.accountRevoked, serviceAccountID: record.serviceAccountID,
                                            email: record.email, data: Self.revokedData(localOnly: true), at: now)
            }
            guard let updated = try transaction.account(rowID: record.rowID) else {
                throw CoreError.notFound("no account \(email)")
            }
            return (updated.model, record)
        }
        vault.cache.invalidate(key)
        logger.warning("account erased locally only; Cronofy may still hold its grant", metadata: ["email": "\(record.email)"])
        return account
    }

    /// Revocations of a refresh token rotated under this one, at most (the last round confirms
    /// whatever is stored): a refresh takes a lease and happens near expiry, so one is the most
    /// a revocation meets in practice.
    static let rotationRounds = 3

    /// What the confirming transaction found: done, or a refresh token rotated since it was read.
    enum Confirmation<Model: Sendable, Record: Sendable>: Sendable {
        case done(Model, Bool)
        case rotated(Record)
    }

    /// How long a revocation under way keeps the background retry off it: longer than Cronofy's
    /// answers can take (two attempts, token and sub); after a crash the retry takes over then.
    static let revokeClaim: Duration = .seconds(300)

    /// A revocation supersedes the renewal of the account: the renewal ends `failed`
    /// (`revoked`), the active grant keeps serving until Cronofy confirms the revocation.
    private static func cancelRenewal(_ transaction: any CoreTransaction, _ record: AccountRecord, now: Date) throws {
        try transaction.cancelRenewal(rowID: record.rowID)
        var data: [String: JSONValue] = ["error": .string("revoked"),
                                         "message": .string("the account is being revoked: the renewal was cancelled")]
        if let scope = record.renewalScope { data["scope"] = .string(scope) }
        try transaction.appendEvent(.accountRenewalFailed, serviceAccountID: record.requestServiceAccountID,
                                    email: record.email, data: data, at: now)
    }

    func revokeServiceAccount(id: String, localOnly: Bool = false) async throws -> ServiceAccount {
        let now = Date()
        let claim = now.addingTimeInterval(Self.revokeClaim.timeInterval)
        // As for an account: marked before Cronofy is asked, the outcome written only while the
        // mark stands (or to a service account erased meanwhile).
        let record = try await storage.transaction { transaction -> ServiceAccountRecord in
            guard let record = try transaction.serviceAccount(id: id) else {
                throw CoreError.notFound("no service account \(id)")
            }
            if !localOnly { try transaction.beginRevocation(.serviceAccount(id), retryAt: claim) }
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
        let (model, emailKeys) = try await storage.transaction { transaction -> (ServiceAccount, [String]) in
            let wasRevoked = try transaction.serviceAccount(id: id)?.status == .revoked
            let applied = localOnly
                ? try transaction.eraseServiceAccountLocally(id: id, now: now)
                : try transaction.confirmServiceAccountRevocation(id: id, now: now)
            guard let updated = try transaction.serviceAccount(id: id) else {
                throw CoreError.notFound("no service account \(id)")
            }
            // Reconnected meanwhile (after a local-only erase, or while this revocation was
            // pending): the new connection stands.
            guard applied else { return (updated.model, []) }
            if !wasRevoked {
                try transaction.appendEvent(.serviceAccountRevoked, serviceAccountID: id, email: nil,
                                            data: Self.revokedData(localOnly: localOnly), at: now)
            }
            let accounts = try transaction.unrevokedAccounts(serviceAccountID: id)
            for account in accounts {
                try transaction.revokeAccountOfServiceAccount(rowID: account.rowID, mark: mark, now: now)
                var data = Self.revokedData(localOnly: localOnly)
                data["reason"] = "service_account_revoked"
                try transaction.appendEvent(.accountRevoked, serviceAccountID: id, email: account.email, data: data, at: now)
            }
            return (updated.model, accounts.map(\.emailKey))
        }
        for key in emailKeys { vault.cache.invalidate(key) }
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
        let recorded = try await storage.transaction { transaction -> Bool in
            guard let (attempts, next) = try transaction.recordRevokeFailure(owner, next: { attempts in
                now.addingTimeInterval(Backoff.delay(failures: attempts, cap: cap).timeInterval)
            }) else { return false }
            let type: EventType = table == "accounts" ? .accountRevokeFailed : .serviceAccountRevokeFailed
            try transaction.appendEvent(type, serviceAccountID: serviceAccountID, email: email,
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
        let due: (accountEmails: [String], serviceAccountIDs: [String])
        do {
            due = try await storage.read { try $0.dueRevocations(now: now, limit: limit) }
        } catch {
            logger.error("revocation sweep failed", metadata: ["error": "\(error)"])
            return
        }
        for id in due.serviceAccountIDs where !stopping { _ = try? await revokeServiceAccount(id: id) }
        for email in due.accountEmails where !stopping { _ = try? await revokeAccount(email: email) }
    }
}
