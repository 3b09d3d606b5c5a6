import Foundation

/// The steps of `ecd demo`, each one request (or a short poll) against the daemon, checked and
/// explained. Tokens are shown as a short prefix only.
struct DemoStory {
    let environment: DemoEnvironment
    let say: @Sendable (String) -> Void
    private let http = DemoHTTPClient()

    init(environment: DemoEnvironment, say: @escaping @Sendable (String) -> Void) {
        self.environment = environment
        self.say = say
    }

    static let emails = ["alice@example.com", "bob@example.com", DemoEnvironment.refusedEmail]

    func tell() async throws {
        say("ecd demo: a Cronofy simulator at \(environment.simulator.baseURL.absoluteString), the daemon's public listener at \(environment.publicBase.absoluteString) and its internal API at \(environment.internalBase.absoluteString).")
        say("")
        let serviceAccountID = try await connectServiceAccount()
        try await requestAccounts(serviceAccountID: serviceAccountID)
        try await waitForCallbacks()
        try await fetchAndRefreshToken(email: Self.emails[0])
        try await revoke(email: Self.emails[1])
        try await showEvents()
    }

    // MARK: Steps

    private func connectServiceAccount() async throws -> String {
        let created = try await api("POST", "/v1/service-accounts/connect-links", json: ["label": "Demo organization"], expect: 201,
                                    step: "create a connect link")
        guard let linkText = created["url"] as? String, let link = URL(string: linkText) else {
            throw DemoError(step: "create a connect link", message: "no url in the answer")
        }
        say("1. An admin asks the internal API for a one-time connect link:")
        let linkToken = link.lastPathComponent
        say("   POST /v1/service-accounts/connect-links → 201, \(link.absoluteString.dropLast(linkToken.count))\(shorten(linkToken, keep: 6)) (valid until \(created["expires_at"] as? String ?? "?"), works once)")

        let landing = try await http.send("GET", link)
        guard landing.status == 200, landing.text.contains("Continue to Cronofy") else {
            throw DemoError(step: "open the connect link", message: "expected the landing page, got \(landing.status)")
        }
        let opened = try await http.send("POST", link)
        guard opened.status == 303, let authorize = opened.headers["location"].flatMap(URL.init(string:)),
              let setCookie = opened.headers["set-cookie"], let cookie = setCookie.split(separator: ";").first else {
            throw DemoError(step: "open the connect link", message: "expected a 303 with a cookie, got \(opened.status)")
        }
        say("2. The admin opens it in a browser: a page naming the application, whose button (a POST; link previews")
        say("   only GET, so they cannot use the link up) answers 303 to Cronofy's Enterprise Connect page")
        say("   (\(authorize.host ?? "?"):\(authorize.port ?? 0)\(authorize.path)),")
        say("   with a cookie that binds this sign-in to the browser (\(setCookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", "))).")

        var approve = URLComponents(url: authorize, resolvingAgainstBaseURL: false)!
        approve.queryItems = (approve.queryItems ?? []) + [URLQueryItem(name: "auto_approve", value: "1")]
        let approved = try await http.send("GET", approve.url!)
        guard approved.status == 302, let callback = approved.headers["location"].flatMap(URL.init(string:)) else {
            throw DemoError(step: "approve at Cronofy", message: "expected a 302 back to the daemon, got \(approved.status)")
        }
        say("3. The admin approves at Cronofy (the simulator approves at once), which sends the browser back to \(callback.path) with a one-time code.")

        let landed = try await http.send("GET", callback, headers: ["Cookie": String(cookie)])
        guard landed.status == 200, landed.text.contains("Service account connected") else {
            throw DemoError(step: "complete the connection", message: "expected the success page, got \(landed.status): \(landed.text.prefix(300))")
        }
        let list = try await api("GET", "/v1/service-accounts", expect: 200, step: "list service accounts")
        guard let accounts = list["service_accounts"] as? [[String: Any]], let account = accounts.first,
              let id = account["id"] as? String else {
            throw DemoError(step: "list service accounts", message: "no service account after connecting")
        }
        say("4. The daemon checks the state against the cookie, exchanges the code and shows \"Service account connected\":")
        say("   \(account["email"] as? String ?? "?") of \(account["domain"] as? String ?? "?") (\(account["provider"] as? String ?? "?")), id \(id), status \(account["status"] as? String ?? "?")")
        return id
    }

    private func requestAccounts(serviceAccountID: String) async throws {
        let body: [String: Any] = ["accounts": Self.emails.map { ["email": $0] }]
        let answer = try await api("POST", "/v1/accounts", json: body, expect: 202, step: "request accounts")
        let statuses = (answer["accounts"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
        guard statuses.count == Self.emails.count, statuses.allSatisfy({ $0 == "pending" }) else {
            throw DemoError(step: "request accounts", message: "expected \(Self.emails.count) pending accounts, got \(statuses)")
        }
        say("5. The application asks for delegated access to three mailboxes through that service account:")
        say("   POST /v1/accounts {\"accounts\":[\(Self.emails.map { "{\"email\":\"\($0)\"}" }.joined(separator: ","))]} → 202, all pending")
        say("   (the simulator will refuse \(DemoEnvironment.refusedEmail), like a free/busy-only room mailbox).")
    }

    private func waitForCallbacks() async throws {
        let started = ContinuousClock.now
        var accounts: [[String: Any]] = []
        while started.duration(to: .now) < .seconds(15) {
            let page = try await api("GET", "/v1/accounts", expect: 200, step: "wait for callbacks")
            accounts = page["accounts"] as? [[String: Any]] ?? []
            if accounts.count == Self.emails.count, !accounts.contains(where: { ($0["status"] as? String) == "pending" }) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let elapsed = started.duration(to: .now)
        say("6. Cronofy calls back each request's own callback URL; after \(String(format2: Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))) s (GET /v1/accounts):")
        for account in accounts {
            let email = account["email"] as? String ?? "?"
            let status = account["status"] as? String ?? "?"
            var line = "   \(email): \(status)"
            if let error = account["error"] as? [String: Any] {
                line += " (\(error["error_key"] as? String ?? error["error"] as? String ?? "?"): \(error["error_description"] as? String ?? ""))"
            } else if let expires = account["token_expires_at"] as? String {
                line += ", token valid until \(expires)"
            }
            say(line)
        }
        let byEmail = Dictionary(uniqueKeysWithValues: accounts.compactMap { a in (a["email"] as? String).map { ($0, a["status"] as? String ?? "") } })
        guard byEmail[Self.emails[0]] == "active", byEmail[Self.emails[1]] == "active",
              byEmail[DemoEnvironment.refusedEmail] == "failed" else {
            throw DemoError(step: "wait for callbacks", message: "expected two active accounts and one failed, got \(byEmail)")
        }
    }

    private func fetchAndRefreshToken(email: String) async throws {
        let token = try await api("GET", "/v1/accounts/\(email)/token?min_validity=300", expect: 200, step: "fetch a token")
        let first = token["access_token"] as? String ?? ""
        say("7. A service of the application asks for \(email)'s token (GET /v1/accounts/\(email)/token):")
        say("   \(shorten(first, keep: 6)) (\(token["token_type"] as? String ?? "?"), expires in \(token["expires_in"] as? Int ?? 0) s, for \(token["api_url"] as? String ?? "?"); the refresh token never leaves the daemon)")

        let refreshed = try await api("POST", "/v1/accounts/\(email)/refresh", expect: 200, step: "force a refresh")
        let second = refreshed["access_token"] as? String ?? ""
        guard !second.isEmpty, second != first else {
            throw DemoError(step: "force a refresh", message: "the refreshed token is the same as before")
        }
        let again = try await api("GET", "/v1/accounts/\(email)/token", expect: 200, step: "fetch the refreshed token")
        guard again["access_token"] as? String == second else {
            throw DemoError(step: "fetch the refreshed token", message: "the token route does not hand out the refreshed token")
        }
        say("8. Should Cronofy ever answer 401 to that token, the service asks for a fresh one: POST /v1/accounts/\(email)/refresh")
        say("   → a new token \(shorten(second, keep: 6)), which GET …/token now returns.")
    }

    private func revoke(email: String) async throws {
        let revoked = try await api("DELETE", "/v1/accounts/\(email)", expect: 200, step: "revoke an account")
        guard revoked["status"] as? String == "revoked" else {
            throw DemoError(step: "revoke an account", message: "status is \(revoked["status"] ?? "?")")
        }
        let token = try await http.send("GET", internalURL("/v1/accounts/\(email)/token"), headers: authorization)
        guard token.status == 409 else {
            throw DemoError(step: "revoke an account", message: "a revoked account's token answered \(token.status), not 409")
        }
        say("9. \(email) leaves: DELETE /v1/accounts/\(email) → revoked at Cronofy, tokens erased; its token route now answers 409 account_not_active.")
    }

    private func showEvents() async throws {
        let page = try await api("GET", "/v1/events", expect: 200, step: "show events")
        let events = page["events"] as? [[String: Any]] ?? []
        say("10. Every change is an event (GET /v1/events):")
        for event in events {
            let subject = (event["email"] as? String) ?? (event["service_account_id"] as? String) ?? ""
            say("   #\(event["id"] as? Int ?? 0) \(event["at"] as? String ?? "") \(event["type"] as? String ?? "?") \(subject)")
        }
        let types = Set(events.compactMap { $0["type"] as? String })
        for expected in ["service_account.connected", "account.requested", "account.authorized", "account.failed", "account.revoked"]
        where !types.contains(expected) {
            throw DemoError(step: "show events", message: "no \(expected) event")
        }
        say("")
    }

    // MARK: Helpers

    private var authorization: [String: String] { ["Authorization": "Bearer \(environment.apiKey)"] }

    private func internalURL(_ pathAndQuery: String) -> URL {
        URL(string: environment.internalBase.absoluteString + pathAndQuery)!
    }

    private func api(_ method: String, _ pathAndQuery: String, json: Any? = nil, expect: Int, step: String) async throws -> [String: Any] {
        let response = try await http.send(method, internalURL(pathAndQuery), headers: authorization, json: json)
        guard response.status == expect else {
            throw DemoError(step: step, message: "\(method) \(pathAndQuery) answered \(response.status), expected \(expect): \(response.text.prefix(300))")
        }
        return try response.json()
    }

    /// The first `keep` characters and an ellipsis: enough to tell tokens apart, useless to anyone who reads it.
    private func shorten(_ secret: String, keep: Int) -> String {
        secret.count <= keep ? secret : "\(secret.prefix(max(0, keep)))…"
    }
}
