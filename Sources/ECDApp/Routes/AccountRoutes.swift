import ECDCore
import ECDHTTP

/// `/v1/accounts…`: delegated access to users' and resources' calendars, and their tokens.
struct AccountRoutes: Sendable {
    let core: EnterpriseConnect

    static let maxAccountsPerRequest = 1000

    private struct AccountList: Encodable {
        let accounts: [Account]
    }

    func register(in table: inout RouteTable) {
        let core = self.core

        table.deferred(.post, "/v1/accounts") { request, _ in
            let body = try Self.accountRequests(request.body)
            do {
                let accounts = try await core.requestAccounts(body.entries, rejected: body.rejected)
                return try .json(.accepted, AccountList(accounts: accounts))
            } catch CoreError.invalidEntries(let problems) {
                throw Self.invalidEntries(problems, single: body.isSingle)
            } catch CoreError.invalid(let field, let message) where body.isSingle {
                // The core names entries as a list; a single-object body has no list to index.
                throw APIError.invalidField(Self.singleFormField(field), message)
            }
        }
        table.deferred(.get, "/v1/accounts") { request, context in
            let query = QueryParameters(request)
            try query.rejectUnknown(allowing: ["status", "service_account_id", "limit", "after", "renewal"])
            let status = try query.string("status").map { text throws(APIError) -> AccountStatus in
                guard let status = AccountStatus(rawValue: text) else {
                    throw APIError.invalidField("status", "unknown status \"\(text)\"")
                }
                return status
            }
            let renewal = try query.string("renewal")
            if let renewal, !["pending", "failed"].contains(renewal) {
                throw APIError.invalidField("renewal", "expected pending or failed, got \"\(renewal)\"")
            }
            var page = try await core.accounts(status: status, serviceAccountID: try query.string("service_account_id"),
                                         limit: try query.integer("limit", in: 1...1000, default: 100),
                                         after: try query.string("after"), renewal: renewal)
            // A key limited to some service accounts or domains sees only those accounts; `next`
            // still pages through the rest, so a page may hold fewer than `limit`.
            if let scope = KeyScope(context) { page.accounts.removeAll { !scope.covers($0) } }
            return try .json(.ok, page)
        }
        table.deferred(.get, "/v1/accounts/{email}") { _, context in
            try .json(.ok, try await core.account(email: try context.parameter("email")))
        }
        // The hot path: a cached, fresh token is answered on the connection's thread; a refresh
        // (or a cache miss) runs as a task.
        table.add(.get, "/v1/accounts/{email}/token") { request, context in
            let minValidity = try TokenQuery.minValidity(request)
            switch core.token(email: try context.parameter("email"), minValidity: minValidity) {
            case .ready(let token):
                return .response(Self.tokenResponse(token))
            case .pending(let work):
                return .deferred { Self.tokenResponse(try await work()) }
            }
        }
        table.deferred(.post, "/v1/accounts/{email}/refresh") { _, context in
            Self.tokenResponse(try await core.refresh(email: try context.parameter("email")))
        }
        // `local_only=true`: an operator gives up on a revocation Cronofy keeps refusing.
        table.deferred(.delete, "/v1/accounts/{email}") { request, context in
            let query = QueryParameters(request)
            try query.rejectUnknown(allowing: ["local_only"])
            return try .json(.ok, try await core.revokeAccount(email: try context.parameter("email"),
                                                               localOnly: try query.boolean("local_only", default: false)))
        }
    }

    /// The core writes the token body by hand (the hot path; `JSONEncoder` would cost more than
    /// the rest of the request). `no-store`: a token must not sit in any cache on the way.
    static func tokenResponse(_ token: AccessToken) -> HTTPResponse {
        HTTPResponse(status: .ok, headers: tokenHeaders, body: token.jsonBytes())
    }

    /// Made once: every token answer shares the one copy (building them per answer was two
    /// allocations on the hot path).
    static let tokenHeaders: HTTPHeaders = ["Cache-Control": "no-store", "Content-Type": "application/json"]

    struct ParsedRequests {
        /// In body order; a refused entry is a placeholder, named in `rejected`.
        var entries: [AccountRequestEntry]
        /// Entries that are not well-formed, so the core checks only the others and one 422
        /// reports them all.
        var rejected: [EntryProblem]
        /// The body was one `{"email",…}` object rather than `{"accounts":[…]}`.
        var isSingle: Bool
    }

    /// `{"email","scope"?,"service_account_id"?,"renew"?}` or `{"accounts":[that, …]}` (1 to 1,000 entries).
    /// A malformed body throws; a malformed entry is recorded in `rejected`.
    static func accountRequests(_ body: [UInt8]) throws(APIError) -> ParsedRequests {
        let top = try JSONObjectReader(try BodyJSON.parse(body), path: "")
        guard let list = top.members["accounts"] else {
            do {
                return ParsedRequests(entries: [try entry(top)], rejected: [], isSingle: true)
            } catch {
                return ParsedRequests(entries: [AccountRequestEntry(email: "")],
                                      rejected: [EntryProblem(index: 0, field: "accounts[0]" + Self.suffix(error.field), message: error.message)],
                                      isSingle: true)
            }
        }
        try top.rejectUnknown(allowing: ["accounts"])
        guard case .array(let items) = list else {
            throw APIError.invalidField("accounts", "expected an array, got \(list.kind)")
        }
        guard !items.isEmpty else { throw APIError.invalidField("accounts", "must hold at least one entry") }
        guard items.count <= maxAccountsPerRequest else {
            throw APIError.invalidField("accounts", "at most \(maxAccountsPerRequest) entries per request, got \(items.count)")
        }
        var parsed = ParsedRequests(entries: [], rejected: [], isSingle: false)
        parsed.entries.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            do {
                parsed.entries.append(try entry(try JSONObjectReader(item, path: "accounts[\(index)]")))
            } catch {
                parsed.entries.append(AccountRequestEntry(email: ""))
                parsed.rejected.append(EntryProblem(index: index, field: error.field ?? "accounts[\(index)]", message: error.message))
            }
        }
        return parsed
    }

    /// A single-object body's field (`email`) as the core names it (`.email`), `body` as nothing.
    private static func suffix(_ field: String?) -> String {
        guard let field, field != "body", !field.isEmpty else { return "" }
        return "." + field
    }

    /// The 422 listing every refused entry: the first one in `error.field`/`message` (as for any
    /// 422), all of them in the top-level `errors` array, `{"index","field","message"}` each.
    static func invalidEntries(_ problems: [EntryProblem], single: Bool) -> APIError {
        let named = problems.map { problem in
            EntryProblem(index: problem.index, field: single ? singleFormField(problem.field) : problem.field, message: problem.message)
        }
        let first = named.first ?? EntryProblem(index: 0, field: "accounts", message: "invalid")
        let message: String
        switch named.count {
        case 1: message = first.message
        case EntryProblem.limit...: message = "\(named.count) or more entries are invalid (the first \(named.count) are listed in errors)"
        default: message = "\(named.count) entries are invalid (listed in errors); the first: \(first.field): \(first.message)"
        }
        let list = named.map { problem in
            "{\"index\":\(problem.index),\"field\":\(JSONString.quote(problem.field)),\"message\":\(JSONString.quote(problem.message))}"
        }
        return APIError(.unprocessableContent, code: "invalid_field", message: message, field: first.field,
                        topLevel: [("errors", "[" + list.joined(separator: ",") + "]")])
    }

    private static func entry(_ object: JSONObjectReader) throws(APIError) -> AccountRequestEntry {
        try object.rejectUnknown(allowing: ["email", "scope", "service_account_id", "renew"])
        let email = try object.requiredString("email")
        guard Email.isValid(email) else {
            throw APIError.invalidField(object.fieldPath("email"), "not a valid email address")
        }
        let scope = try object.optionalString("scope")
        if let scope, !Scope.isValid(scope) {
            throw APIError.invalidField(object.fieldPath("scope"), "expected space-separated scope names")
        }
        let serviceAccountID = try object.optionalString("service_account_id")
        if let serviceAccountID, serviceAccountID.isEmpty {
            throw APIError.invalidField(object.fieldPath("service_account_id"), "must not be empty")
        }
        let renew = try object.optionalBool("renew") ?? false
        return AccountRequestEntry(email: email, scope: scope, serviceAccountID: serviceAccountID, renew: renew)
    }

    /// `accounts[0].scope` → `scope`; `accounts[0]` → `body`.
    static func singleFormField(_ field: String) -> String {
        guard field.hasPrefix("accounts[0]") else { return field }
        let rest = field.dropFirst("accounts[0]".count)
        return rest.hasPrefix(".") ? String(rest.dropFirst()) : "body"
    }
}
