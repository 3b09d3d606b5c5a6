import FoundationEssentials

extension CronofyClient {
    /// `authorization_code` grant. `redirect_uri` and (with `sendCallbackURL`) `callback_url` carry
    /// the same value: the Enterprise Connect guide names the key `callback_url` for delegated
    /// codes while the official samples send `redirect_uri`, so both are sent.
    ///
    /// Not retried after a timeout or a dropped connection (the code may already be spent);
    /// an `invalidGrant` after an earlier ambiguous failure is for the caller to interpret.
    public func exchangeCode(_ code: String, redirectURI: String,
                             sendCallbackURL: Bool = false) async throws(CronofyError) -> TokenResponse {
        var body = credentials()
        body["grant_type"] = "authorization_code"
        body["code"] = code
        body["redirect_uri"] = redirectURI
        if sendCallbackURL { body["callback_url"] = redirectURI }
        let spec = CallSpec(endpoint: "token", method: "POST", path: "/oauth/token", bearer: nil,
                            body: Self.encode(body), secrets: [code], idempotent: false)
        return try await performDecoding(spec, as: TokenResponse.self)
    }

    /// `refresh_token` grant. Persist the returned `refreshToken`: Cronofy may rotate it.
    ///
    /// Not idempotent: a request whose answer was lost (timeout, connection closed after it was
    /// sent) may already have rotated the refresh token at Cronofy, and repeating it with the old
    /// one would be `invalid_grant` for a grant that is alive. Only answers that prove Cronofy did
    /// not act (5xx, 429, connection refused) are retried here; the caller decides the rest.
    public func refresh(refreshToken: String) async throws(CronofyError) -> TokenResponse {
        var body = credentials()
        body["grant_type"] = "refresh_token"
        body["refresh_token"] = refreshToken
        let spec = CallSpec(endpoint: "token", method: "POST", path: "/oauth/token", bearer: nil,
                            body: Self.encode(body), secrets: [refreshToken], idempotent: false)
        return try await performDecoding(spec, as: TokenResponse.self)
    }

    /// Revokes one authorization by token (preferably the refresh token, which cannot have expired).
    /// Revoking a service account cascades to every account it authorized.
    public func revoke(token: String) async throws(CronofyError) {
        var body = credentials()
        body["token"] = token
        try await perform(CallSpec(endpoint: "revoke", method: "POST", path: "/oauth/token/revoke", bearer: nil,
                                       body: Self.encode(body), secrets: [token]))
    }

    /// Revokes an authorization by its `sub` (`acc_…`, `ser_…`).
    public func revoke(sub: String) async throws(CronofyError) {
        var body = credentials()
        body["sub"] = sub
        try await perform(CallSpec(endpoint: "revoke", method: "POST", path: "/oauth/token/revoke", bearer: nil,
                                       body: Self.encode(body), secrets: []))
    }

    /// Asks Cronofy to obtain delegated access to mailboxes; answers arrive later at each
    /// `callbackURL`. One request uses the single form, 2…50 the batch form. An empty list makes no
    /// call; more than 50 is a programming error (split into batches first).
    public func authorizeWithServiceAccount(accessToken: String,
                                            requests: [DelegatedAccessRequest]) async throws(CronofyError) {
        precondition(requests.count <= Self.maxBatch, "at most \(Self.maxBatch) delegated-access requests per call")
        guard let first = requests.first else { return }
        let body = requests.count == 1 ? Self.encode(first) : Self.encode(BatchBody(serviceAccountAuthorizations: requests))
        try await perform(CallSpec(endpoint: "authorizations", method: "POST",
                                       path: "/v1/service_account_authorizations", bearer: accessToken,
                                       body: body, secrets: [accessToken]))
    }

    /// The identity behind a token (`sub`, and for a service account its domain and scopes).
    public func userInfo(accessToken: String) async throws(CronofyError) -> UserInfo {
        try await performDecoding(CallSpec(endpoint: "userinfo", method: "GET", path: "/v1/userinfo",
                                           bearer: accessToken, body: nil, secrets: [accessToken]),
                                  as: UserInfo.self)
    }

    /// Resource mailboxes of the service account's domain (needs `service_account/resources/manage`).
    public func resources(accessToken: String) async throws(CronofyError) -> [Resource] {
        try await performDecoding(CallSpec(endpoint: "resources", method: "GET", path: "/v1/resources",
                                           bearer: accessToken, body: nil, secrets: [accessToken]),
                                  as: ResourcesBody.self).resources
    }

    /// Cronofy's limit for one `service_account_authorizations` batch.
    public static let maxBatch = 50

    private func credentials() -> [String: String] {
        ["client_id": configuration.clientID, "client_secret": configuration.clientSecret]
    }

    private static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings and string dictionaries cannot fail; a failure would be a bug here.
        guard let data = try? encoder.encode(value) else { preconditionFailure("request body encoding failed") }
        return [UInt8](data)
    }
}

private struct BatchBody: Encodable {
    var serviceAccountAuthorizations: [DelegatedAccessRequest]
    enum CodingKeys: String, CodingKey { case serviceAccountAuthorizations = "service_account_authorizations" }
}

/// `{"resources":[{"email","name"}, ...]}`. Entries without an email cannot be authorized and are
/// skipped rather than failing the whole list; a missing name falls back to the email.
private struct ResourcesBody: Decodable {
    var resources: [Resource]

    private struct Entry: Decodable {
        var email: String?
        var name: String?
    }

    enum CodingKeys: String, CodingKey { case resources }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let entries = try c.decodeIfPresent([LenientEntry].self, forKey: .resources) ?? []
        resources = entries.compactMap { entry in
            guard let email = entry.value?.email, !email.isEmpty else { return nil }
            return Resource(email: email, name: entry.value?.name ?? email)
        }
    }

    /// One array element that may fail to decode without failing its neighbours.
    private struct LenientEntry: Decodable {
        var value: Entry?
        init(from decoder: any Decoder) throws { value = try? Entry(from: decoder) }
    }
}
