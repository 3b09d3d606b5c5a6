import FoundationEssentials

/// The reads of the flows. Inside a `CoreTransaction` every row these return is locked until the
/// commit (see `CoreStorage.transaction`).
protocol CoreReader {
    // Record loads.
    func account(emailKey: String) throws -> AccountRecord?
    func account(rowID: Int64) throws -> AccountRecord?
    func serviceAccount(id: String) throws -> ServiceAccountRecord?
    /// Ordered by connection time, then id.
    func serviceAccounts() throws -> [ServiceAccountRecord]
    func tokenState(_ owner: TokenOwner) throws -> TokenState?
    func tokenState(emailKey: String) throws -> TokenState?
    /// A page of accounts ordered by email key.
    func accounts(_ query: AccountQuery) throws -> [AccountRecord]
    /// The status column of one account (`nil`: no such row).
    func accountStatus(rowID: Int64) throws -> String?
    func accountStatus(emailKey: String) throws -> String?

    // One-shot tokens (looked up without spending them).
    func connectLink(hash: [UInt8]) throws -> ConnectLinkRow?
    func oauthState(hash: [UInt8]) throws -> OAuthStateRow?

    // Events and their webhook.
    func events(after: Int64, limit: Int) throws -> [Event]
    func webhookCursor() throws -> Int64

    // Due-work scans (in a transaction: claims).
    func dueRevocations(now: Date, limit: Int) throws -> (accountEmails: [String], serviceAccountIDs: [String])
    func dueInboxRows(now: Date, limit: Int) throws -> [Int64]
    func inboxAttempts(id: Int64) throws -> Int
    /// Service accounts (and accounts used since `usedSince`) whose token expires before
    /// `horizon`, not backing off and not leased.
    func refreshDue(horizon: Date, usedSince: Date, now: Date, limit: Int) throws -> [TokenOwner]
    /// Requests (first or renewal) not accepted by Cronofy yet and due for a send.
    func unsentRequests(now: Date, limit: Int) throws -> [UnsentRequest]
    /// Requests sent before `cutoff` whose callback has not arrived (none in the inbox).
    func requestsWaitingForCallback(sentBefore cutoff: Date, limit: Int) throws -> [WaitingRequest]

    // Gauges and keys.
    func gauges() throws -> StorageGauges
    /// Key ids that still seal at least one secret, with their counts.
    func keyIDsInUse() throws -> [String: Int]
}

/// The writes of the flows, each one operation (see `CoreStorage.transaction` for what makes them
/// safe under any isolation level).
protocol CoreTransaction: CoreReader {
    // Leases (refresh, one per token owner across processes).
    func acquireLease(_ owner: TokenOwner, holder: String, until: Date, now: Date) throws -> Bool
    func releaseLease(_ owner: TokenOwner, holder: String) throws
    /// A failed refresh: the failure count and the next attempt stored (under the lease, so the
    /// count read before is current), the lease released.
    func backOffRefresh(_ owner: TokenOwner, failures: Int, nextAt: Date) throws
    /// Every lease of every row dropped, and every cluster lease (a sole process at start);
    /// returns how many.
    func clearAllLeases() throws -> Int
    /// The lease of a once-per-cluster job (`ClusterLease`): taken when free, expired or already
    /// the holder's (then extended to `until`); false while another node holds it.
    func acquireClusterLease(_ name: String, holder: String, until: Date, now: Date) throws -> Bool
    func releaseClusterLease(_ name: String, holder: String) throws

    // Tokens.
    /// Stores refreshed tokens while the row is `active`; `refreshToken` nil keeps the stored one.
    func storeRefreshedTokens(_ owner: TokenOwner, _ tokens: RefreshedTokens) throws -> Bool
    /// `active` → `reauthorization_required`, tokens erased, only while `spentRefreshToken` is
    /// still the stored one.
    func endGrant(_ owner: TokenOwner, spentRefreshToken: [UInt8]?, now: Date) throws -> Bool
    /// Marks the open accounts of a service account at risk; returns the emails at risk.
    func markAccountsAtRisk(serviceAccountID: String) throws -> [String]
    func touchLastUsed(emailKeys: [String], at: Date) throws
    /// Stores an exchanged code's tokens while `requestID` is the account's current request.
    func storeAuthorization(_ write: AuthorizationWrite) throws -> Bool

    // Requests.
    /// Writes a new request for `write.emailKey` (a renewal when the account is `active`, else a
    /// fresh `pending` row or row reset) and returns its row id and whether it is a renewal.
    func writeRequest(_ write: RequestWrite) throws -> (rowID: Int64, renewal: Bool)
    func attachRequestState(rowID: Int64, sealedState: [UInt8], callbackURL: String, attempt: Int) throws
    /// Claims a send for a minute (`renewal`: in the renewal's own columns).
    func claimSend(rowID: Int64, renewal: Bool, until: Date) throws
    func markSent(rowID: Int64, requestID: String, now: Date) throws
    /// Counts one more failed send and schedules the next after `delay(failures)`.
    func deferSend(rowID: Int64, requestID: String, now: Date, delay: (Int) -> Duration) throws
    /// `pending`/`reauthorizing` → `status` with `failure`, while `requestID` (if given) is current.
    func failRequest(rowID: Int64, requestID: String?, status: AccountStatus, failure: AccountError,
                     now: Date) throws -> AccountIdentity?
    /// A pending renewal → failed, while `requestID` (if given) is current.
    func failRenewal(rowID: Int64, requestID: String?, failure: AccountError, now: Date) throws -> RenewalIdentity?
    /// The account an automatic re-request would start from (active, `spentRefreshToken` stored).
    func reauthorizationCandidate(rowID: Int64, spentRefreshToken: [UInt8]?) throws -> ReauthorizationCandidate?
    func beginReauthorization(_ write: ReauthorizationWrite) throws
    func clearInbox(accountRow: Int64) throws

    // Revocation: `pending` from before Cronofy is asked; its outcome is written only while that
    // mark stands (a local-only erase in between takes it away).
    func beginRevocation(_ owner: TokenOwner, retryAt: Date) throws
    /// A revocation supersedes the account's renewal: its request, state and inbox rows go.
    func cancelRenewal(rowID: Int64) throws
    /// Tokens, request and renewal erased, `revoked`, while the revocation is pending (or the row
    /// was erased meanwhile); false when neither holds.
    func confirmAccountRevocation(rowID: Int64, now: Date) throws -> Bool
    /// Tokens erased, `revoked` with the mark `local_only` (a finished revocation keeps its own).
    func eraseAccountLocally(rowID: Int64, now: Date) throws
    func confirmServiceAccountRevocation(id: String, now: Date) throws -> Bool
    func eraseServiceAccountLocally(id: String, now: Date) throws -> Bool
    /// An account of a revoked service account: erased, `revoked` with `mark`.
    func revokeAccountOfServiceAccount(rowID: Int64, mark: String?, now: Date) throws
    /// The accounts of a service account not revoked yet.
    func unrevokedAccounts(serviceAccountID: String) throws -> [AccountIdentity]
    /// While the revocation is pending: one more attempt counted, its retry at `next(attempts)`;
    /// nil when it is no longer pending.
    func recordRevokeFailure(_ owner: TokenOwner, next: (Int) -> Date) throws -> (attempts: Int, nextAt: Date)?

    // Connect links, OAuth states, service accounts.
    func purgeExpiredConnectState(before: Date) throws
    func insertConnectLink(_ link: ConnectLinkWrite) throws
    /// Spends an unused, unexpired link; nil when it is unknown, used or expired.
    func spendConnectLink(hash: [UInt8], now: Date) throws -> ConnectLinkRow?
    func insertOAuthState(_ state: OAuthStateWrite) throws
    /// Spends an unused state; false when another callback spent it first.
    func spendOAuthState(hash: [UInt8], now: Date) throws -> Bool
    func upsertServiceAccount(_ write: ServiceAccountWrite) throws
    /// Accounts put at risk by a service account's lost authorization and not active since.
    func accountsToAskAgain(serviceAccountID: String) throws -> [(email: String, scope: String)]
    func clearAtRisk(serviceAccountID: String) throws

    // Callback inbox.
    /// The account a callback names, for the intake's checks.
    func callbackTarget(requestID: String) throws -> CallbackTarget?
    func inboxHolds(requestID: String, contentHash: [UInt8]) throws -> Bool
    func inboxHoldsCode(requestID: String) throws -> Bool
    func insertInbox(_ item: IntakeItem, accountRow: Int64, now: Date) throws
    /// Rows left `exchanging` by a previous process become due at once.
    func resetExchangingInbox() throws
    /// An open (`received` or `exchanging`) inbox row that is due at `now`: the claim of the
    /// inbox worker (a row another node claimed and committed meanwhile is no longer due).
    func openInboxRow(id: Int64, now: Date) throws -> InboxRow?
    /// The claim: `exchanging`, one more attempt, held by `holder` (a node) until `until`, and not
    /// due before then, so no other node takes it while the holder lives and renews it.
    func markExchanging(id: Int64, holder: String, until: Date, now: Date) throws
    /// Extends the holder's claim; false when the row is no longer `exchanging` under its claim
    /// (finished, or taken over by another node after the claim ran out).
    func renewInboxLease(id: Int64, holder: String, until: Date) throws -> Bool
    /// The row is still `exchanging` under `holder`'s claim (locked until the commit).
    func holdsInboxLease(id: Int64, holder: String) throws -> Bool
    func rescheduleInbox(id: Int64, at: Date, now: Date?) throws
    func finishInbox(id: Int64, status: String, now: Date) throws

    // Events and their webhook.
    @discardableResult
    func appendEvent(_ type: EventType, serviceAccountID: String?, email: String?, data: [String: JSONValue],
                     at: Date) throws -> Int64
    /// Deletes up to `limit` events older than `before` with ids up to `upTo`; returns how many.
    func pruneEvents(before: Date, upTo: Int64, limit: Int) throws -> Int
    func advanceWebhookCursor(to id: Int64) throws
}

extension CoreTransaction {
    @discardableResult
    func appendEvent(_ type: EventType, serviceAccountID: String?, email: String?,
                     data: [String: JSONValue] = [:]) throws -> Int64 {
        try appendEvent(type, serviceAccountID: serviceAccountID, email: email, data: data, at: Date())
    }
}
