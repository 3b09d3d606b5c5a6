import ECDCronofy
import FoundationEssentials

/// Connecting a service account: one-time link → state + browser cookie → Cronofy's authorize
/// page → `/oauth/callback` (state, cookie, code exchange, userinfo) → stored, `connected` event.
/// A failure after the state and cookie matched records `service_account.connect_failed` and
/// nothing else. Before that match the request is anybody's: it is refused and counted in
/// `ecd_oauth_callbacks_rejected_total{reason}`, and writes nothing (no event, no row).
extension Connections {
    func createConnectLink(label: String?, scope: String?, delegatedScope: String?) async throws -> ConnectLink {
        let rawScope = scope ?? configuration.serviceAccountScope, rawDelegated = delegatedScope ?? configuration.delegatedScope
        if !Scope.isValid(rawScope) {
            throw CoreError.invalid(field: "scope", message: "a scope is a list of space-separated words")
        }
        if !Scope.isValid(rawDelegated) {
            throw CoreError.invalid(field: "delegated_scope", message: "a scope is a list of space-separated words")
        }
        if let label, label.count > ConnectLink.maxLabelLength {
            throw CoreError.invalid(field: "label", message: "at most \(ConnectLink.maxLabelLength) characters")
        }
        let scope = Scope.normalized(rawScope), delegated = Scope.normalized(rawDelegated)
        let token = try Self.randomToken()
        let now = Date()
        let expiresAt = now.addingTimeInterval(configuration.connectLinkLifetime.timeInterval)
        let link = ConnectLinkWrite(tokenHash: SecretHash.of(token), label: label, scope: scope, delegatedScope: delegated,
                                    expiresAt: expiresAt, createdAt: now)
        try await storage.transaction { transaction in
            // Expired links and states are of no use to anyone; drop them as new ones are made.
            try transaction.purgeExpiredConnectState(before: now.addingTimeInterval(-86_400))
            try transaction.insertConnectLink(link)
        }
        logger.info("connect link created", metadata: ["label": "\(label ?? "-")"])
        return ConnectLink(url: configuration.connectURL(token: token), expiresAt: expiresAt)
    }

    /// What a `GET` or `HEAD` of a connect link may learn without spending it. Chat apps and mail
    /// scanners (Slack, Teams, Outlook Safe Links) fetch a link before the admin clicks it, so only
    /// the admin's explicit `POST` (``beginConnect(link:)``) may use the link up.
    func previewConnectLink(link: String) async throws -> ConnectLinkPreview {
        let now = Date()
        let linkHash = SecretHash.of(link)
        let preview = try await storage.read { reader -> ConnectLinkPreview? in
            guard let link = try reader.connectLink(hash: linkHash), link.usedAt == nil,
                  let expiresAt = link.expiresAt, expiresAt > now else { return nil }
            return ConnectLinkPreview(label: link.label, expiresAt: expiresAt)
        }
        guard let preview else { throw CoreError.linkUnusable }
        return preview
    }

    /// Spends the link (once, whoever asks first) and starts the OAuth round trip.
    func beginConnect(link: String) async throws -> ConnectRedirect {
        let now = Date()
        let state = try Self.randomToken()
        let nonce = try Self.randomToken()
        let lifetime = configuration.connectLinkLifetime
        let linkHash = SecretHash.of(link)
        let scopes = try await storage.transaction { transaction -> (String, String)? in
            guard let link = try transaction.spendConnectLink(hash: linkHash, now: now) else { return nil }
            try transaction.insertOAuthState(OAuthStateWrite(
                stateHash: SecretHash.of(state), nonceHash: SecretHash.of(nonce), linkHash: linkHash, label: link.label,
                scope: link.scope, delegatedScope: link.delegatedScope, expiresAt: now.addingTimeInterval(lifetime.timeInterval),
                createdAt: now))
            return (link.scope, link.delegatedScope)
        }
        guard let (scope, delegated) = scopes else { throw CoreError.linkUnusable }
        let url = cronofy.enterpriseConnectAuthorizeURL(redirectURI: configuration.oauthRedirectURI, scope: scope,
                                                        delegatedScope: delegated, state: state)
        return ConnectRedirect(authorizeURL: url, stateCookieValue: nonce, cookieMaxAge: lifetime)
    }

    func completeConnect(code: String?, state: String?, error: String?, cookieState: String?) async throws -> ServiceAccount {
        let now = Date()
        let pending: PendingConnect
        do {
            pending = try await claimState(state, cookie: cookieState, now: now)
        } catch let rejection as StateRejection {
            metrics.oauthCallbackRejected(rejection.reason)
            logger.debug("OAuth callback refused before its state matched", metadata: ["reason": "\(rejection.reason)"])
            throw CoreError.badState(rejection.message)
        }
        if let error {
            let reported = String(error.unicodeScalars.filter { $0.isASCII && $0.value >= 0x20 }.prefix(100).map(Character.init))
            await recordConnectFailure(["reason": "cronofy_error", "error": .string(reported)], label: pending.label)
            throw CoreError.connectFailed("Cronofy reported \(reported)")
        }
        guard let code, !code.isEmpty else {
            await recordConnectFailure(["reason": "missing_code"], label: pending.label)
            throw CoreError.connectFailed("the redirect carried no authorization code")
        }
        let tokens: TokenResponse
        let info: UserInfo
        do {
            tokens = try await cronofy.exchangeCode(code, redirectURI: configuration.oauthRedirectURI)
            info = try await cronofy.userInfo(accessToken: tokens.accessToken)
        } catch {
            await recordConnectFailure(["reason": "exchange_failed", "error": .string(Self.errorName(error))], label: pending.label)
            switch error {
            case .invalidGrant: throw CoreError.connectFailed("Cronofy refused the authorization code (used or expired)")
            default:
                if error.isTransient { throw CoreError.connectFailed("Cronofy could not be reached (\(error))") }
                throw CoreError.connectFailed("Cronofy refused the code exchange (\(error))")
            }
        }
        return try await storeServiceAccount(tokens: tokens, info: info, pending: pending, now: now)
    }

    struct PendingConnect {
        var label: String?
        var scope: String
        var delegatedScope: String
    }

    /// Why an OAuth callback was refused before its state and cookie matched.
    struct StateRejection: Error {
        /// The metric label: `missing_state`, `unknown_state`, `state_used`, `state_expired`, `cookie_mismatch`.
        var reason: String
        var message: String
    }

    /// Checks the state (exists, unused, unexpired, bound to this browser's cookie) and spends it.
    /// Throws `StateRejection`, having written nothing, when any of that fails.
    private func claimState(_ state: String?, cookie: String?, now: Date) async throws -> PendingConnect {
        guard let state, !state.isEmpty else {
            throw StateRejection(reason: "missing_state", message: "the redirect carried no state")
        }
        let stateHash = SecretHash.of(state)
        // Only looked up: unknown, used and expired states are refused without a write.
        guard let row = try await storage.read({ try $0.oauthState(hash: stateHash) }) else {
            throw StateRejection(reason: "unknown_state", message: "unknown state")
        }
        if row.usedAt != nil {
            throw StateRejection(reason: "state_used", message: "this state was already used")
        }
        guard let expiresAt = row.expiresAt, expiresAt > now else {
            throw StateRejection(reason: "state_expired", message: "this state has expired, start again from a new connect link")
        }
        guard let cookie, SecretHash.matches(cookie, row.nonceHash) else {
            throw StateRejection(reason: "cookie_mismatch",
                                 message: "the state does not belong to this browser (cookie missing or different)")
        }
        // Spent exactly once, even by two callbacks racing with the same state and cookie.
        guard try await storage.transaction({ try $0.spendOAuthState(hash: stateHash, now: now) }) else {
            throw StateRejection(reason: "state_used", message: "this state was already used")
        }
        return PendingConnect(label: row.label, scope: row.scope, delegatedScope: row.delegatedScope)
    }

    private func recordConnectFailure(_ data: [String: JSONValue], label: String?) async {
        var data = data
        if let label { data["label"] = .string(label) }
        do {
            _ = try await storage.transaction { [data] in
                try $0.appendEvent(.serviceAccountConnectFailed, serviceAccountID: nil, email: nil, data: data)
            }
        } catch {
            logger.error("recording a connect failure failed", metadata: ["error": "\(error)"])
        }
        logger.warning("service account connect failed", metadata: ["reason": "\(data["reason"]?.stringValue ?? "-")"])
    }

    static func errorName(_ error: CronofyError) -> String {
        switch error {
        case .invalidGrant: return "invalid_grant"
        case .invalidClient: return "invalid_client"
        case .badRequest(let name, _): return name
        case .unauthorized: return "unauthorized"
        case .forbidden: return "forbidden"
        case .paymentRequired: return "cronofy_plan_required"
        case .notFound: return "not_found"
        case .unprocessable: return "unprocessable"
        case .locked: return "locked"
        case .rateLimited: return "rate_limited"
        case .server(let status): return "server_error_\(status)"
        case .timeout: return "timeout"
        case .connectionFailed: return "connection_failed"
        case .unexpectedStatus(let status): return "unexpected_status_\(status)"
        case .decoding: return "decoding"
        }
    }

    private func storeServiceAccount(tokens: TokenResponse, info: UserInfo, pending: PendingConnect,
                                     now: Date) async throws -> ServiceAccount {
        let id = info.sub.isEmpty ? (tokens.serviceAccountID ?? tokens.sub ?? "") : info.sub
        guard !id.isEmpty else {
            await recordConnectFailure(["reason": "no_service_account_id"], label: pending.label)
            throw CoreError.connectFailed("Cronofy did not say which service account this is")
        }
        let access = try secrets.seal(tokens.accessToken, table: "service_accounts", row: id, column: "access_token")
        let refresh = try tokens.refreshToken.map { try secrets.seal($0, table: "service_accounts", row: id, column: "refresh_token") }
        let scope = Scope.normalized(tokens.scope ?? pending.scope)
        let expiresAt = now.addingTimeInterval(TimeInterval(tokens.expiresIn))
        let domain = info.domain ?? info.email.flatMap(Email.domain)
        let write = ServiceAccountWrite(id: id, email: info.email, domain: domain, provider: info.providerName,
                                        label: pending.label, scope: scope, delegatedScope: pending.delegatedScope,
                                        accessToken: access, refreshToken: refresh, keyID: secrets.keyring.primaryKeyID,
                                        expiresAt: expiresAt, now: now)
        let (record, atRisk) = try await storage.transaction { [self] transaction -> (ServiceAccountRecord, [PreparedRequest]) in
            let previous = try transaction.serviceAccount(id: id)
            try transaction.upsertServiceAccount(write)
            var data: [String: JSONValue] = ["reconnected": .bool(previous != nil)]
            // The upsert ended a revocation Cronofy had refused and the background still retried.
            if previous?.revokeState == "pending" { data["revocation_superseded"] = .bool(true) }
            if let domain { data["domain"] = .string(domain) }
            if let provider = info.providerName { data["provider"] = .string(provider) }
            if let email = info.email { data["email"] = .string(email) }
            try transaction.appendEvent(.serviceAccountConnected, serviceAccountID: id, email: nil, data: data, at: now)
            // Accounts put at risk when this service account lost its authorization, and not active
            // since, are asked for again now that it is back.
            var again: [PreparedRequest] = []
            if previous?.status == .reauthorizationRequired {
                for account in try transaction.accountsToAskAgain(serviceAccountID: id) {
                    again.append(try requests.prepareRequest(transaction, email: account.email, scope: account.scope,
                                                    serviceAccountID: id, now: now, reason: "service_account_reconnected"))
                }
                try transaction.clearAtRisk(serviceAccountID: id)
            }
            guard let record = try transaction.serviceAccount(id: id) else {
                throw CoreError.notFound("service account \(id)")
            }
            return (record, again)
        }
        logger.info("service account connected", metadata: ["service_account_id": "\(id)", "domain": "\(domain ?? "-")"])
        if !atRisk.isEmpty {
            for request in atRisk { vault.cache.invalidate(request.emailKey) }
            await requests.send(atRisk)
        }
        return record.model
    }
}
