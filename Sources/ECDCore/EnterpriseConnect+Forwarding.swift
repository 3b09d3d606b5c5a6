import FoundationEssentials

/// The facade's public API: each call goes to the part that owns its state, unchanged.
extension EnterpriseConnect {
    // MARK: Connect links and service accounts (`Connections`)

    public func createConnectLink(label: String?, scope: String?, delegatedScope: String?) async throws -> ConnectLink {
        try await connections.createConnectLink(label: label, scope: scope, delegatedScope: delegatedScope)
    }

    /// What a `GET` or `HEAD` of a connect link may learn without spending it.
    public func previewConnectLink(link: String) async throws -> ConnectLinkPreview {
        try await connections.previewConnectLink(link: link)
    }

    /// Spends the link (once, whoever asks first) and starts the OAuth round trip.
    public func beginConnect(link: String) async throws -> ConnectRedirect {
        try await connections.beginConnect(link: link)
    }

    public func completeConnect(code: String?, state: String?, error: String?, cookieState: String?) async throws -> ServiceAccount {
        try await connections.completeConnect(code: code, state: state, error: error, cookieState: cookieState)
    }

    public func serviceAccounts() async throws -> [ServiceAccount] {
        try await connections.serviceAccounts()
    }

    public func serviceAccount(id: String) async throws -> ServiceAccount {
        try await connections.serviceAccount(id: id)
    }

    public func resources(serviceAccountID: String) async throws -> [CalendarResource] {
        try await connections.resources(serviceAccountID: serviceAccountID)
    }

    // MARK: Requests and callbacks (`AccountRequests`)

    public func requestAccounts(_ entries: [AccountRequestEntry], rejected: [EntryProblem] = []) async throws -> [Account] {
        try await requests.requestAccounts(entries, rejected: rejected)
    }

    /// Throws `CoreError.callbackRejected`; a duplicate of an accepted callback returns normally.
    public func receiveDelegatedCallback(requestID: String, body: [UInt8], signatureHeader: String?) async throws {
        try await requests.receiveDelegatedCallback(requestID: requestID, body: body, signatureHeader: signatureHeader)
    }

    public func account(email: String) async throws -> Account {
        try await requests.account(email: email)
    }

    /// Ordered by (lower-cased) email; `after` is the `next` of the previous page.
    public func accounts(status: AccountStatus?, serviceAccountID: String?, limit: Int, after: String?,
                         renewal: String? = nil) async throws -> AccountPage {
        try await requests.accounts(status: status, serviceAccountID: serviceAccountID, limit: limit, after: after,
                                    renewal: renewal)
    }

    // MARK: Tokens (`TokenVault`)

    /// The hot path: `.ready` from the cache, or `.pending` work (database, maybe a refresh).
    public func token(email: String, minValidity: Duration) -> TokenLookup {
        vault.token(email: email, minValidity: minValidity)
    }

    /// `POST /v1/accounts/{email}/refresh`: a new token now, whatever the old one's validity.
    public func refresh(email: String) async throws -> AccessToken {
        try await vault.refresh(email: email)
    }

    public func serviceAccountToken(id: String, minValidity: Duration) async throws -> AccessToken {
        try await vault.serviceAccountToken(id: id, minValidity: minValidity)
    }

    // MARK: Revocation (`Revocations`)

    public func revokeAccount(email: String, localOnly: Bool = false) async throws -> Account {
        try await revocations.revokeAccount(email: email, localOnly: localOnly)
    }

    public func revokeServiceAccount(id: String, localOnly: Bool = false) async throws -> ServiceAccount {
        try await revocations.revokeServiceAccount(id: id, localOnly: localOnly)
    }

    // MARK: Events (`EventFeed`)

    public func events(after: Int64?, limit: Int) async throws -> EventPage {
        try await events.events(after: after, limit: limit)
    }

    // MARK: For the tests

    static var eventPruneBatch: Int { EventFeed.eventPruneBatch }

    func pruneEvents(now: Date = Date()) async -> Int { await events.pruneEvents(now: now) }

    func retryRevocations(limit: Int = 20) async { await revocations.retryRevocations(limit: limit) }
}
