import ECDHTTP

/// `GET /enterprise_connect/oauth/authorize` and the approval page's answer.
extension SimulatorRoutes {
    /// The service-account scopes Cronofy knows (reference §1); others are ignored, and a request
    /// with none of them is refused with `invalid_scope`.
    static let serviceAccountScopes: Set<String> = [
        "service_account/accounts/manage", "service_account/accounts/unrestricted_access",
        "service_account/resources/manage", "service_account/resources/unrestricted_access",
    ]

    func authorize(_ request: HTTPRequest) -> HTTPResponse {
        let clientID = request.query("client_id")
        let redirectURI = request.query("redirect_uri") ?? ""
        let state = request.query("state")
        let expectedClient = store.withState { state, _ in state.clientID }
        // RFC 6749 §4.1.2.1: with an unknown client or a bad redirect_uri the user is told, never
        // redirected (the redirect target cannot be trusted).
        guard let clientID, clientID == expectedClient else {
            return AuthorizePage.problem("Unknown application", "The client_id is missing or not recognised.")
        }
        guard URLEncoding.isHTTPURL(redirectURI) else {
            return AuthorizePage.problem("Invalid redirect_uri", "The redirect_uri is missing or is not an http(s) URL.")
        }
        guard request.query("response_type") == "code" else {
            return Self.redirect(to: redirectURI, error: "unsupported_response_type", state: state)
        }
        var granted: [String] = []
        for scope in (request.query("scope") ?? "").split(separator: " ").map(String.init)
        where Self.serviceAccountScopes.contains(scope) && !granted.contains(scope) {
            granted.append(scope)
        }
        guard !granted.isEmpty else { return Self.redirect(to: redirectURI, error: "invalid_scope", state: state) }
        let delegatedScope = Self.normalisedScope(request.query("delegated_scope") ?? "")
        guard !delegatedScope.isEmpty else { return Self.redirect(to: redirectURI, error: "invalid_request", state: state) }

        let (identity, autoApprove) = store.withSettings { ($0.takeIdentity(), $0.autoApprove) }
        let approval = PendingApproval(
            redirectURI: redirectURI, scope: granted.joined(separator: " "), delegatedScope: delegatedScope,
            state: state, identity: identity, expiresAt: store.now + SimulatorState.approvalLifetime)
        if autoApprove || request.query("auto_approve") == "1" {
            let code = store.withState { state, now in state.issueServiceAccountCode(for: approval, now: now) }
            return Self.redirect(to: redirectURI, code: code, state: state)
        }
        let id = store.withState { state, now in state.addApproval(approval, now: now) }
        return AuthorizePage.approval(id: id, clientID: clientID, approval: approval)
    }

    /// The approval page's form: `approval=<id>&decision=approve|deny`, by GET or POST.
    func decide(_ request: HTTPRequest, fields: [String: String]) -> HTTPResponse {
        guard let id = fields["approval"],
            let approval = store.withState({ state, now in state.takeApproval(id: id, now: now) })
        else {
            return AuthorizePage.problem("Request expired", "This approval request is unknown, expired or already answered.")
        }
        switch fields["decision"] {
        case "approve":
            let code = store.withState { state, now in state.issueServiceAccountCode(for: approval, now: now) }
            return Self.redirect(to: approval.redirectURI, code: code, state: approval.state)
        default:
            return Self.redirect(to: approval.redirectURI, error: "access_denied", state: approval.state)
        }
    }

    static func redirect(to uri: String, code: String, state: String?) -> HTTPResponse {
        redirect(URLEncoding.appending([("code", code)] + (state.map { [("state", $0)] } ?? []), to: uri))
    }

    static func redirect(to uri: String, error: String, state: String?) -> HTTPResponse {
        redirect(URLEncoding.appending([("error", error)] + (state.map { [("state", $0)] } ?? []), to: uri))
    }

    private static func redirect(_ location: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Location", value: location)
        headers.add(name: "Cache-Control", value: "no-store")
        return HTTPResponse(status: .found, headers: headers)
    }

    /// Space-separated scopes with duplicates and extra spaces removed, order kept.
    static func normalisedScope(_ text: String) -> String {
        var seen: [String] = []
        for scope in text.split(separator: " ").map(String.init) where !seen.contains(scope) { seen.append(scope) }
        return seen.joined(separator: " ")
    }
}
