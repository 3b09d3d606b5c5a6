import ECDHTTP

/// `POST /oauth/token` (authorization_code and refresh_token grants) and `POST /oauth/token/revoke`.
extension SimulatorRoutes {
    func token(_ request: HTTPRequest) -> HTTPResponse {
        guard let body = try? RequestBody.parse(request) else {
            return Self.oauthError(.invalidRequest("the body is neither JSON nor a form"))
        }
        let fields = body.fields
        do throws(OAuthFailure) {
            let tokens: IssuedTokens
            try store.withState { state, _ throws(OAuthFailure) in
                try state.authenticateClient(id: fields["client_id"], secret: fields["client_secret"])
            }
            switch fields["grant_type"] {
            case "authorization_code":
                guard let code = fields["code"], !code.isEmpty else { throw .invalidRequest("code is required") }
                // The delegated flow names the callback URL either way (reference §2): each
                // value sent must match; at least one must be sent.
                let uris = [fields["redirect_uri"], fields["callback_url"]].compactMap { $0 }
                guard !uris.isEmpty else { throw .invalidRequest("redirect_uri is required") }
                tokens = try store.withState { state, now throws(OAuthFailure) in
                    try state.exchange(code: code, redirectURIs: uris, now: now)
                }
                return Self.tokenResponse(tokens, includeIdentity: true)
            case "refresh_token":
                guard let refreshToken = fields["refresh_token"], !refreshToken.isEmpty else {
                    throw .invalidRequest("refresh_token is required")
                }
                tokens = try store.withState { state, now throws(OAuthFailure) in
                    try state.refresh(token: refreshToken, now: now)
                }
                return Self.tokenResponse(tokens, includeIdentity: false)
            case nil:
                throw .invalidRequest("grant_type is required")
            default:
                throw .unsupportedGrantType
            }
        } catch {
            return Self.oauthError(error)
        }
    }

    func revoke(_ request: HTTPRequest) -> HTTPResponse {
        guard let body = try? RequestBody.parse(request) else {
            return Self.oauthError(.invalidRequest("the body is neither JSON nor a form"))
        }
        let fields = body.fields
        do throws(OAuthFailure) {
            try store.withState { state, _ throws(OAuthFailure) in
                try state.authenticateClient(id: fields["client_id"], secret: fields["client_secret"])
                // `token` wins when both are sent (reference §5).
                if let token = fields["token"], !token.isEmpty {
                    state.revoke(token: token)
                } else if let sub = fields["sub"], !sub.isEmpty {
                    state.revoke(sub: sub)
                } else {
                    throw .invalidRequest("token or sub is required")
                }
            }
            return HTTPResponse(status: .ok)
        } catch {
            return Self.oauthError(error)
        }
    }

    /// The token response. After an exchange it names who was authorized: `service_account_id`
    /// for a service account, `account_id`/`sub`/`linking_profile` for an account; a refresh
    /// answers only the token fields (the reference's refresh example has no identity).
    static func tokenResponse(_ tokens: IssuedTokens, includeIdentity: Bool) -> HTTPResponse {
        var fields: [(String, SimJSON)] = [
            ("token_type", .string("bearer")),
            ("access_token", .string(tokens.accessToken)),
            ("expires_in", .int(tokens.expiresIn)),
            ("refresh_token", .string(tokens.refreshToken)),
            ("scope", .string(tokens.grant.scope)),
        ]
        if includeIdentity {
            switch tokens.grant.kind {
            case .serviceAccount:
                fields.append(("service_account_id", .string(tokens.grant.sub)))
            case .account(let email, _, let profileID, let provider):
                fields.append(("account_id", .string(tokens.grant.sub)))
                fields.append(("sub", .string(tokens.grant.sub)))
                // `provider_service` as in cronofy-csharp's OAuthTokenResponse fixture (`gsuite`).
                var profile: [(String, SimJSON)] = [("provider_name", .string(provider))]
                if let service = Self.providerService[provider] { profile.append(("provider_service", .string(service))) }
                profile += [("profile_id", .string(profileID)), ("profile_name", .string(email))]
                fields.append(("linking_profile", .object(profile)))
            }
        }
        return .simJSON(.ok, .object(fields), headers: noStore)
    }

    static let providerService = ["google": "gsuite", "office365": "office365", "exchange": "exchange"]

    /// RFC 6749 §5.2 error: 400 `{"error":"invalid_grant"}`, as in the SDK fixtures.
    static func oauthError(_ failure: OAuthFailure) -> HTTPResponse {
        var fields: [(String, SimJSON)] = [("error", .string(failure.code))]
        if case .invalidRequest(let description) = failure {
            fields.append(("error_description", .string(description)))
        }
        return .simJSON(.badRequest, .object(fields), headers: noStore)
    }

    static var noStore: HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "Pragma", value: "no-cache")
        return headers
    }
}
