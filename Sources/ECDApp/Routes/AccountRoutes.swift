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
                let accounts = try await core.requestAccounts(body.entries)
                return try .json(.accepted, AccountList(accounts: accounts))
            } catch CoreError.invalid(let field, let message) where body.isSingle {
                // The core names entries as a list; a single-object body has no list to index.
                throw APIError.invalidField(Self.singleFormField(field), message)
            }
        }
        table.deferred(.get, "/v1/accounts") { request, _ in
            let query = QueryParameters(request)
            try query.rejectUnknown(allowing: ["status", "service_account_id", "limit", "after"])
            let status = try query.string("status").map { text throws(APIError) -> AccountStatus in
                guard let status = AccountStatus(rawValue: text) else {
                    throw APIError.invalidField("status", "unknown status \"\(text)\"")
                }
                return status
            }
            let page = try core.accounts(status: status, serviceAccountID: try query.string("service_account_id"),
                                         limit: try query.integer("limit", in: 1...1000, default: 100),
                                         after: try query.string("after"))
            return try .json(.ok, page)
        }
        table.deferred(.get, "/v1/accounts/{email}") { _, context in
            try .json(.ok, try core.account(email: try context.parameter("email")))
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
        table.deferred(.delete, "/v1/accounts/{email}") { _, context in
            try .json(.ok, try await core.revokeAccount(email: try context.parameter("email")))
        }
    }

    /// The core writes the token body by hand (the hot path; `JSONEncoder` would cost more than
    /// the rest of the request). `no-store`: a token must not sit in any cache on the way.
    static func tokenResponse(_ token: AccessToken) -> HTTPResponse {
        .json(.ok, bytes: token.jsonBytes(), headers: ["Cache-Control": "no-store"])
    }

    struct ParsedRequests {
        var entries: [AccountRequestEntry]
        /// The body was one `{"email",…}` object rather than `{"accounts":[…]}`.
        var isSingle: Bool
    }

    /// `{"email","scope"?,"service_account_id"?}` or `{"accounts":[that, …]}` (1 to 1,000 entries).
    static func accountRequests(_ body: [UInt8]) throws(APIError) -> ParsedRequests {
        let top = try JSONObjectReader(try BodyJSON.parse(body), path: "")
        guard let list = top.members["accounts"] else {
            return ParsedRequests(entries: [try entry(top)], isSingle: true)
        }
        try top.rejectUnknown(allowing: ["accounts"])
        guard case .array(let items) = list else {
            throw APIError.invalidField("accounts", "expected an array, got \(list.kind)")
        }
        guard !items.isEmpty else { throw APIError.invalidField("accounts", "must hold at least one entry") }
        guard items.count <= maxAccountsPerRequest else {
            throw APIError.invalidField("accounts", "at most \(maxAccountsPerRequest) entries per request, got \(items.count)")
        }
        var entries: [AccountRequestEntry] = []
        entries.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            entries.append(try entry(try JSONObjectReader(item, path: "accounts[\(index)]")))
        }
        return ParsedRequests(entries: entries, isSingle: false)
    }

    private static func entry(_ object: JSONObjectReader) throws(APIError) -> AccountRequestEntry {
        try object.rejectUnknown(allowing: ["email", "scope", "service_account_id"])
        let email = try object.requiredString("email")
        guard FieldValidation.isValidEmail(email) else {
            throw APIError.invalidField(object.fieldPath("email"), "not a valid email address")
        }
        let scope = try object.optionalString("scope")
        if let scope, !FieldValidation.isValidScope(scope) {
            throw APIError.invalidField(object.fieldPath("scope"), "expected space-separated scope names")
        }
        let serviceAccountID = try object.optionalString("service_account_id")
        if let serviceAccountID, serviceAccountID.isEmpty {
            throw APIError.invalidField(object.fieldPath("service_account_id"), "must not be empty")
        }
        return AccountRequestEntry(email: email, scope: scope, serviceAccountID: serviceAccountID)
    }

    /// `accounts[0].scope` → `scope`; `accounts[0]` → `body`.
    static func singleFormField(_ field: String) -> String {
        guard field.hasPrefix("accounts[0]") else { return field }
        let rest = field.dropFirst("accounts[0]".count)
        return rest.hasPrefix(".") ? String(rest.dropFirst()) : "body"
    }
}
