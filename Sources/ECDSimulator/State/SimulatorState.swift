/// The simulator's whole state: grants, tokens, codes, approvals. A value type with mutating
/// operations and no locking of its own; `SimulatorStore` serialises access. Every operation takes
/// `now` so that expiry is decided in one place.
struct SimulatorState: Sendable {
    let clientID: String
    let clientSecret: String
    var tokenLifetime: Duration
    var codeLifetime: Duration

    private var nextGrantID = 1
    private(set) var grants: [Int: GrantRecord] = [:]
    private(set) var accessTokens: [String: AccessTokenRecord] = [:]
    private(set) var refreshTokens: [String: RefreshTokenRecord] = [:]
    private(set) var codes: [String: CodeRecord] = [:]
    private var approvals: [String: PendingApproval] = [:]
    /// Ids are stable per identity: the same mailbox always gets the same `ser_`/`acc_` id.
    private var serviceAccountIDs: [String: String] = [:]
    private var accountIDs: [String: (accountID: String, profileID: String)] = [:]
    /// Issue order, for `SimulatorIssued`.
    private(set) var issued = SimulatorIssued(accessTokens: [], refreshTokens: [], codes: [])

    /// Approval pages stay answerable this long.
    static let approvalLifetime: Duration = .seconds(3600)

    init(clientID: String, clientSecret: String, tokenLifetime: Duration, codeLifetime: Duration) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.tokenLifetime = tokenLifetime
        self.codeLifetime = codeLifetime
    }

    // MARK: Client authentication

    /// Client credentials travel in the body (never HTTP Basic); both must match.
    func authenticateClient(id: String?, secret: String?) throws(OAuthFailure) {
        guard let id, let secret, id == clientID, secret == clientSecret else { throw .invalidClient }
    }

    // MARK: Service-account approval

    mutating func addApproval(_ approval: PendingApproval, now: ContinuousClock.Instant) -> String {
        // Pages nobody answered are forgotten once they expire.
        approvals = approvals.filter { $0.value.expiresAt > now }
        let id = Identifiers.approvalID()
        approvals[id] = approval
        return id
    }

    /// Removes and returns a pending approval (each page is answered once).
    mutating func takeApproval(id: String, now: ContinuousClock.Instant) -> PendingApproval? {
        guard let approval = approvals.removeValue(forKey: id), approval.expiresAt > now else { return nil }
        return approval
    }

    /// The code an approval redirects back with.
    mutating func issueServiceAccountCode(for approval: PendingApproval, now: ContinuousClock.Instant) -> String {
        let purpose = CodeRecord.Purpose.serviceAccount(
            identity: approval.identity, scope: approval.scope, delegatedScope: approval.delegatedScope)
        return issueCode(purpose, redirectURI: approval.redirectURI, now: now)
    }

    // MARK: Delegated access

    mutating func issueDelegatedCode(
        email: String, scope: String, callbackURL: String, serviceAccountGrantID: Int, now: ContinuousClock.Instant
    ) -> String {
        let purpose = CodeRecord.Purpose.delegated(email: email, scope: scope, serviceAccountGrantID: serviceAccountGrantID)
        return issueCode(purpose, redirectURI: callbackURL, now: now)
    }

    private mutating func issueCode(_ purpose: CodeRecord.Purpose, redirectURI: String, now: ContinuousClock.Instant) -> String {
        let code = Identifiers.token()
        codes[code] = CodeRecord(purpose: purpose, clientID: clientID, redirectURI: redirectURI, expiresAt: now + codeLifetime)
        issued.codes.append(code)
        return code
    }

    // MARK: Token endpoint

    /// `grant_type=authorization_code`. `redirectURIs` are the `redirect_uri` and `callback_url`
    /// values the request carried: at least one, and each must equal the URI the code is bound to.
    /// A mismatch does not spend the code, so the genuine exchange can still follow.
    mutating func exchange(code: String, redirectURIs: [String], now: ContinuousClock.Instant) throws(OAuthFailure) -> IssuedTokens {
        guard var record = codes[code], !record.used, record.expiresAt > now, record.clientID == clientID,
            !redirectURIs.isEmpty, redirectURIs.allSatisfy({ $0 == record.redirectURI })
        else { throw .invalidGrant }
        let grant: GrantRecord
        switch record.purpose {
        case .serviceAccount(let identity, let scope, let delegatedScope):
            grant = newGrant(
                sub: serviceAccountID(for: identity), scope: scope,
                kind: .serviceAccount(identity: identity, delegatedScope: delegatedScope))
        case .delegated(let email, let scope, let parentID):
            // A service account revoked after the callback was sent takes its codes with it.
            guard let parent = grants[parentID], !parent.revoked,
                case .serviceAccount(let identity, _) = parent.kind
            else { throw .invalidGrant }
            let ids = accountIDs(for: email)
            grant = newGrant(
                sub: ids.accountID, scope: scope,
                kind: .account(email: email, serviceAccountID: parent.sub, profileID: ids.profileID, provider: identity.provider))
        }
        record.used = true
        codes[code] = record
        return issueTokens(for: grant, now: now)
    }

    /// `grant_type=refresh_token`: the refresh token rotates (the old one stops working) and a
    /// new access token is issued. Earlier access tokens keep working until they expire.
    mutating func refresh(token: String, now: ContinuousClock.Instant) throws(OAuthFailure) -> IssuedTokens {
        guard var record = refreshTokens[token], record.active, let grant = grants[record.grantID], !grant.revoked
        else { throw .invalidGrant }
        record.active = false
        refreshTokens[token] = record
        return issueTokens(for: grant, now: now)
    }

    private mutating func newGrant(sub: String, scope: String, kind: GrantRecord.Kind) -> GrantRecord {
        let grant = GrantRecord(id: nextGrantID, sub: sub, kind: kind, scope: scope)
        nextGrantID += 1
        grants[grant.id] = grant
        return grant
    }

    private mutating func issueTokens(for grant: GrantRecord, now: ContinuousClock.Instant) -> IssuedTokens {
        let access = Identifiers.token()
        let refresh = Identifiers.token()
        accessTokens[access] = AccessTokenRecord(grantID: grant.id, expiresAt: now + tokenLifetime)
        refreshTokens[refresh] = RefreshTokenRecord(grantID: grant.id)
        issued.accessTokens.append(access)
        issued.refreshTokens.append(refresh)
        return IssuedTokens(accessToken: access, refreshToken: refresh, expiresIn: Int(tokenLifetime.components.seconds), grant: grant)
    }

    private mutating func serviceAccountID(for identity: ServiceAccountIdentity) -> String {
        let key = identity.email.lowercased()
        if let id = serviceAccountIDs[key] { return id }
        let id = Identifiers.serviceAccountID()
        serviceAccountIDs[key] = id
        return id
    }

    private mutating func accountIDs(for email: String) -> (accountID: String, profileID: String) {
        let key = email.lowercased()
        if let ids = accountIDs[key] { return ids }
        let ids = (Identifiers.accountID(), Identifiers.profileID())
        accountIDs[key] = ids
        return ids
    }

    // MARK: Revocation

    /// Revokes the authorization `token` (access or refresh) belongs to. Unknown tokens are not an
    /// error (RFC 7009 §2.2). Returns whether something was revoked.
    @discardableResult
    mutating func revoke(token: String) -> Bool {
        // A refresh token rotated out by a refresh is no longer valid: RFC 7009 answers 200 and
        // revokes nothing. Whether Cronofy looks through it to the grant is not documented, so
        // the simulator takes the reading under which a revocation sending it leaves the grant alive.
        let grantID = accessTokens[token]?.grantID ?? refreshTokens[token].flatMap { $0.active ? $0.grantID : nil }
        guard let grantID, let grant = grants[grantID] else { return false }
        return revoke(sub: grant.sub)
    }

    /// Revokes every authorization of `sub`; for a service account, also every account it
    /// authorized (Cronofy's documented cascade).
    @discardableResult
    mutating func revoke(sub: String) -> Bool {
        var revokedAny = false
        for (id, grant) in grants where grant.sub == sub && !grant.revoked {
            grants[id]?.revoked = true
            revokedAny = true
        }
        if sub.hasPrefix("ser_") {
            for (id, grant) in grants where !grant.revoked {
                if case .account(_, let serviceAccountID, _, _) = grant.kind, serviceAccountID == sub {
                    grants[id]?.revoked = true
                }
            }
        }
        return revokedAny
    }

    /// The `sub` of the account authorized for `email`, if any.
    func accountSub(email: String) -> String? { accountIDs[email.lowercased()]?.accountID }

    /// Only this refresh token stops working (the rest of its authorization is untouched).
    @discardableResult
    mutating func disableRefreshToken(_ token: String) -> Bool {
        guard refreshTokens[token]?.active == true else { return false }
        refreshTokens[token]?.active = false
        return true
    }

    mutating func expireAccessTokens(now: ContinuousClock.Instant) {
        for token in accessTokens.keys { accessTokens[token]?.expiresAt = now }
    }

    // MARK: Bearer authentication

    enum BearerFailure: Error, Equatable { case missing, unknown, expired, revoked }

    /// The grant behind `Authorization: Bearer <token>`.
    func authenticate(authorization: String?, now: ContinuousClock.Instant) throws(BearerFailure) -> GrantRecord {
        guard let authorization else { throw .missing }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw .missing }
        let token = parts[1].trimmingCharacters(in: " ")
        guard let record = accessTokens[token], let grant = grants[record.grantID] else { throw .unknown }
        guard !grant.revoked else { throw .revoked }
        guard record.expiresAt > now else { throw .expired }
        return grant
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
