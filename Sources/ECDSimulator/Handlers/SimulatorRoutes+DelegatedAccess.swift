import ECDHTTP

/// `POST /v1/service_account_authorizations`: single `{email, callback_url, scope, state?}` or
/// batch `{"service_account_authorizations": [...]}` (1…50). Answers 202 with an empty body; the
/// outcome of each entry is POSTed to its `callback_url` later by the `CallbackDispatcher`.
extension SimulatorRoutes {
    static let batchLimit = 50
    static let batchKey = "service_account_authorizations"

    func authorizeAccounts(_ request: HTTPRequest) -> HTTPResponse {
        guard let grant = bearerGrant(request) else { return Self.unauthorized() }
        guard case .serviceAccount(let identity, let delegatedScope) = grant.kind else { return Self.forbidden() }
        guard let body = try? RequestBody.parse(request) else {
            return Self.unprocessable([("body", "errors.invalid", "must be a JSON object")])
        }

        let entries: [DelegatedEntry]
        switch Self.readEntries(body) {
        case .success(let read): entries = read
        case .failure(let errors): return Self.unprocessable(errors.list)
        }

        // Each scope must lie within the granted delegated_scope (shorthands read as the words
        // they stand for); a user needs service_account/accounts/manage, a resource
        // service_account/resources/manage.
        let granted = Set(grant.scope.split(separator: " ").map(String.init))
        let resourceEmails = Set(store.withSettings { $0.resources(domain: identity.domain) }.map { $0.email.lowercased() })
        for entry in entries {
            let isResource = resourceEmails.contains(entry.email.lowercased())
            let needed = isResource ? "service_account/resources/manage" : "service_account/accounts/manage"
            guard granted.contains(needed), DelegatedScopes.isWithin(entry.scope, ceiling: delegatedScope)
            else { return Self.forbidden() }
        }

        let (refused, dropped, stateless, freeBusyOnly) = store.withSettings {
            ($0.refusedEmails, $0.droppedEmails, $0.statelessEmails, $0.freeBusyOnlyEmails)
        }
        let jobs = entries.map { entry in
            // A free/busy-only mailbox grants `free_busy` and nothing more (cronofy-api.md §8).
            let beyondFreeBusy = freeBusyOnly.contains(entry.email.lowercased())
                && DelegatedScopes.words(entry.scope).contains { $0 != "free_busy" }
            return CallbackJob(
                email: entry.email, scope: Self.normalisedScope(entry.scope), callbackURL: entry.callbackURL,
                state: stateless.contains(entry.email.lowercased()) ? nil : entry.state, serviceAccountGrantID: grant.id,
                refused: refused.contains(entry.email.lowercased()) || beyondFreeBusy, dropped: dropped.contains(entry.email.lowercased()))
        }
        dispatcher.schedule(jobs)
        return HTTPResponse(status: .accepted)
    }

    struct DelegatedEntry {
        var email: String
        var callbackURL: String
        var scope: String
        var state: String?
    }

    struct FieldErrors: Error {
        var list: [(field: String, key: String, description: String)] = []
        mutating func add(_ field: String, _ key: String, _ description: String) { list.append((field, key, description)) }
    }

    static func readEntries(_ body: RequestBody) -> Result<[DelegatedEntry], FieldErrors> {
        var errors = FieldErrors()
        guard let object = body.object else {
            // A form body carries the single form only.
            let entry = readEntry(body.fields, prefix: "", errors: &errors)
            return errors.list.isEmpty ? .success([entry]) : .failure(errors)
        }
        guard let batch = object[batchKey] else {
            let entry = readEntry(body.fields, prefix: "", errors: &errors)
            return errors.list.isEmpty ? .success([entry]) : .failure(errors)
        }
        guard case .array(let batchItems) = batch else {
            errors.add(batchKey, "errors.invalid", "must be an array of objects")
            return .failure(errors)
        }
        let items = batchItems.compactMap { item -> [String: RequestJSON]? in
            if case .object(let object) = item { return object }
            return nil
        }
        guard items.count == batchItems.count else {
            errors.add(batchKey, "errors.invalid", "must be an array of objects")
            return .failure(errors)
        }
        guard (1...batchLimit).contains(items.count) else {
            errors.add(batchKey, "errors.length", "must contain between 1 and \(batchLimit) entries")
            return .failure(errors)
        }
        var entries: [DelegatedEntry] = []
        for (index, item) in items.enumerated() {
            var fields: [String: String] = [:]
            for (key, value) in item {
                if let text = value.scalarText { fields[key] = text }
            }
            entries.append(readEntry(fields, prefix: "\(batchKey)[\(index)].", errors: &errors))
        }
        return errors.list.isEmpty ? .success(entries) : .failure(errors)
    }

    private static func readEntry(_ fields: [String: String], prefix: String, errors: inout FieldErrors) -> DelegatedEntry {
        let email = fields["email"] ?? ""
        let callbackURL = fields["callback_url"] ?? ""
        let scope = fields["scope"] ?? ""
        if email.isEmpty {
            errors.add(prefix + "email", "errors.required", "required")
        } else if !isPlausibleEmail(email) {
            errors.add(prefix + "email", "errors.invalid", "invalid")
        }
        if callbackURL.isEmpty {
            errors.add(prefix + "callback_url", "errors.required", "required")
        } else if !URLEncoding.isHTTPURL(callbackURL) {
            errors.add(prefix + "callback_url", "errors.invalid", "invalid")
        }
        if scope.split(separator: " ").isEmpty {
            errors.add(prefix + "scope", "errors.required", "required")
        }
        return DelegatedEntry(email: email, callbackURL: callbackURL, scope: scope, state: fields["state"])
    }

    /// One `@` with text either side and a dot in the domain; no spaces.
    static func isPlausibleEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return false }
        return !email.contains { $0.isWhitespace }
    }
}
