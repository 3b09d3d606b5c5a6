import ECDCronofy
import ECDSQLite
import Foundation

/// A delegated-access request written to the database and ready to be sent to Cronofy.
struct PreparedRequest: Sendable {
    var rowID: Int64
    var email: String
    var emailKey: String
    var scope: String
    var serviceAccountID: String
    var requestID: String
    var state: String
    var callbackURL: String
}

/// `POST /v1/accounts`: validate every entry first, write them all `pending` with a fresh request
/// id and state, then send them to Cronofy in batches of at most 50 per service account.
extension EnterpriseConnect {
    public func requestAccounts(_ entries: [AccountRequestEntry]) async throws -> [Account] {
        guard !entries.isEmpty else { throw CoreError.invalid(field: "accounts", message: "at least one account is required") }
        guard entries.count <= 1000 else {
            throw CoreError.invalid(field: "accounts", message: "at most 1000 accounts per request (got \(entries.count))")
        }
        let serviceAccounts = try await database.asyncRead { try ServiceAccountRecord.all($0) }
        let validated = try validate(entries, serviceAccounts: serviceAccounts)
        let now = Date()
        let prepared = try await database.asyncWrite { [self] connection in
            try validated.map { entry in
                try prepareRequest(connection, email: entry.email, scope: entry.scope,
                                   serviceAccountID: entry.serviceAccountID, now: now, reason: nil)
            }
        }
        for request in prepared { cache.remove(request.emailKey) }
        logger.info("delegated access requested", metadata: ["accounts": "\(prepared.count)"])
        await send(prepared)
        return try await database.asyncRead { connection in
            try prepared.compactMap { try AccountRecord.load(connection, rowID: $0.rowID)?.model }
        }
    }

    struct ValidEntry {
        var email: String
        var scope: String
        var serviceAccountID: String
    }

    private func validate(_ entries: [AccountRequestEntry], serviceAccounts: [ServiceAccountRecord]) throws -> [ValidEntry] {
        let active = serviceAccounts.filter { $0.status == .active }
        var seen: [String: Int] = [:]
        var result: [ValidEntry] = []
        result.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            let field = { (name: String) in "accounts[\(index)].\(name)" }
            if let problem = Email.problem(entry.email) { throw CoreError.invalid(field: field("email"), message: problem) }
            let key = Email.key(entry.email)
            if let first = seen[key] {
                throw CoreError.invalid(field: field("email"), message: "duplicate of accounts[\(first)].email")
            }
            seen[key] = index
            let serviceAccount: ServiceAccountRecord
            if let id = entry.serviceAccountID {
                guard let found = serviceAccounts.first(where: { $0.id == id }) else {
                    throw CoreError.invalid(field: field("service_account_id"), message: "no service account \(id)")
                }
                guard found.status == .active else {
                    throw CoreError.invalid(field: field("service_account_id"),
                                            message: "service account \(id) is \(found.status.rawValue)")
                }
                serviceAccount = found
            } else {
                let domain = Email.domain(entry.email)
                let sameDomain = active.filter { $0.domain?.lowercased() == domain }
                if active.count == 1 {
                    serviceAccount = active[0]
                } else if sameDomain.count == 1 {
                    serviceAccount = sameDomain[0]
                } else if active.isEmpty {
                    throw CoreError.invalid(field: field("service_account_id"), message: "no service account is connected")
                } else {
                    throw CoreError.invalid(field: field("service_account_id"),
                                            message: "required: \(sameDomain.isEmpty ? active.count : sameDomain.count) service accounts could serve \(domain ?? "this domain")")
                }
            }
            let scope = Scope.normalized(entry.scope ?? configuration.defaultAccountScope)
            if scope.isEmpty || !Scope.isWellFormed(scope) {
                throw CoreError.invalid(field: field("scope"), message: "a scope is a list of space-separated words")
            }
            let excess = Scope.excess(scope, within: serviceAccount.delegatedScope)
            if !excess.isEmpty {
                throw CoreError.invalid(field: field("scope"),
                                        message: "\(excess.joined(separator: " ")) is not within the delegated scope of service account \(serviceAccount.id)")
            }
            result.append(ValidEntry(email: Email.normalized(entry.email), scope: scope, serviceAccountID: serviceAccount.id))
        }
        return result
    }

    /// Writes the account `pending` with a new request id and state (any earlier request is
    /// superseded, its tokens dropped), and the `account.requested` event.
    func prepareRequest(_ connection: Connection, email: String, scope: String, serviceAccountID: String, now: Date,
                        reason: String?) throws -> PreparedRequest {
        let key = Email.key(email)
        let requestID = try Self.randomToken()
        let state = try Self.randomToken()
        // Until Cronofy accepts the request, a failed send is retried by the sweep, no earlier.
        let sendDeadline = now.addingTimeInterval(60)
        try connection.execute(
            """
            INSERT INTO accounts (email, email_key, service_account_id, status, scope, request_id, state_hash,
                requested_at, next_attempt_at, updated_at)
            VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)
            ON CONFLICT(email_key) DO UPDATE SET
                email = excluded.email, service_account_id = excluded.service_account_id, status = 'pending',
                scope = excluded.scope, request_id = excluded.request_id, state_hash = excluded.state_hash,
                request_sent_at = NULL, error = NULL, error_key = NULL, error_description = NULL,
                access_token = NULL, refresh_token = NULL, key_id = NULL, expires_at = NULL,
                refresh_failures = 0, next_attempt_at = excluded.next_attempt_at, lease_owner = NULL,
                lease_until = NULL, at_risk = 0, requested_at = excluded.requested_at, updated_at = excluded.updated_at
            """,
            [email, key, serviceAccountID, scope, requestID, SecretHash.of(state), now, sendDeadline, now])
        guard let row = try connection.queryOne("SELECT id FROM accounts WHERE email_key = ?", [key]) else {
            throw CoreError.notFound("account \(email)")
        }
        let rowID: Int64 = try row.get("id")
        let sealedState = try secrets.seal(state, table: "accounts", row: String(rowID), column: "state")
        try connection.execute("UPDATE accounts SET state = ? WHERE id = ?", [sealedState, rowID])
        try connection.execute("DELETE FROM callback_inbox WHERE account_row = ?", [rowID])
        var data: [String: JSONValue] = ["scope": .string(scope)]
        if let reason { data["reason"] = .string(reason) }
        try EventLog.append(connection, .accountRequested, serviceAccountID: serviceAccountID, email: email, data: data, at: now)
        return PreparedRequest(rowID: rowID, email: email, emailKey: key, scope: scope, serviceAccountID: serviceAccountID,
                               requestID: requestID, state: state,
                               callbackURL: configuration.delegatedCallbackURL(requestID: requestID))
    }

    /// Sends prepared requests, per service account, in batches of at most 50.
    func send(_ prepared: [PreparedRequest]) async {
        var groups: [String: [PreparedRequest]] = [:]
        var order: [String] = []
        for request in prepared {
            if groups[request.serviceAccountID] == nil { order.append(request.serviceAccountID) }
            groups[request.serviceAccountID, default: []].append(request)
        }
        for serviceAccountID in order {
            let group = groups[serviceAccountID] ?? []
            var start = 0
            while start < group.count {
                let end = min(start + CronofyClient.maxBatch, group.count)
                await sendBatch(serviceAccountID, Array(group[start..<end]))
                start = end
            }
        }
    }
}
