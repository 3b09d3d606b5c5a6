import ECDCronofy
import FoundationEssentials

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
    /// A re-request of an active account: it keeps serving its current grant meanwhile.
    var renewal = false
}

/// `POST /v1/accounts`: validate every entry first (reporting every refused one), write them all
/// `pending` with a fresh request id and state in one transaction, and answer; the requests go to
/// Cronofy in the background, in batches of at most 50 per service account, paced by the shared
/// request budget. A request that never reaches Cronofy (a crash, a failed send) stays claimed for
/// a minute and is then sent by the unsent-requests sweep.
extension AccountRequests {
    /// `rejected`: entries the caller already refused (by index), reported with the others; the
    /// entries at those indices are placeholders and are not validated again.
    func requestAccounts(_ entries: [AccountRequestEntry], rejected: [EntryProblem] = []) async throws -> [Account] {
        guard !entries.isEmpty else { throw CoreError.invalid(field: "accounts", message: "at least one account is required") }
        guard entries.count <= 1000 else {
            throw CoreError.invalid(field: "accounts", message: "at most 1000 accounts per request (got \(entries.count))")
        }
        let serviceAccounts = try await storage.read { try $0.serviceAccounts() }
        let validated = try validate(entries, rejected: rejected, serviceAccounts: serviceAccounts)
        let now = Date()
        // The answer is read inside the same transaction: every account is `pending` in it, even
        // when a callback for an earlier send of the same email lands right after the commit.
        let (prepared, accounts) = try await storage.transaction { [self] transaction in
            var prepared: [PreparedRequest] = []
            var accounts: [Account] = []
            var revoking: [String] = []
            prepared.reserveCapacity(validated.count)
            accounts.reserveCapacity(validated.count)
            for entry in validated {
                let current = try transaction.account(emailKey: Email.key(entry.email))
                // A revocation Cronofy has not confirmed is still retried: a new grant now would
                // be revoked by it (or replace the tokens it revokes with). The whole request is refused.
                // That holds for a revoked account too (DELETE repeated while Cronofy refused):
                // `local_only=true` gives the revocation up, and then the account may be requested.
                if let current, current.revokeState == "pending" {
                    revoking.append(current.email)
                    continue
                }
                guard revoking.isEmpty else { continue }
                // The same grant asked for again changes nothing unless the entry says `renew`.
                if !entry.renew, let current, current.status == .active, current.serviceAccountID == entry.serviceAccountID,
                   Scope.isEquivalent(current.scope, entry.scope) {
                    accounts.append(current.model)
                    continue
                }
                let request = try prepareRequest(transaction, email: entry.email, scope: entry.scope,
                                                 serviceAccountID: entry.serviceAccountID, now: now, reason: nil)
                prepared.append(request)
                if let account = try transaction.account(rowID: request.rowID)?.model { accounts.append(account) }
            }
            // Thrown inside the transaction: it rolls back whatever the earlier entries wrote.
            guard revoking.isEmpty else { throw CoreError.accountRevoking(emails: revoking) }
            return (prepared, accounts)
        }
        // A renewal keeps the current token: only accounts that lost theirs leave the vault.cache.
        for request in prepared where !request.renewal { vault.cache.invalidate(request.emailKey) }
        logger.info("delegated access requested", metadata: ["accounts": .stringConvertible(prepared.count)])
        background.spawn { [self] in await send(prepared) }
        return accounts
    }

    struct ValidEntry {
        var email: String
        var scope: String
        var serviceAccountID: String
        var renew: Bool
    }

    /// Every entry checked; throws `.invalidEntries` with every problem found (up to the limit).
    private func validate(_ entries: [AccountRequestEntry], rejected: [EntryProblem],
                          serviceAccounts: [ServiceAccountRecord]) throws -> [ValidEntry] {
        let skipped = Set(rejected.map(\.index))
        var problems = rejected
        var seen: [String: Int] = [:]
        var scopes = ScopeMemo()
        var result: [ValidEntry] = []
        result.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() where !skipped.contains(index) {
            if problems.count >= EntryProblem.limit { break }
            let found = check(entry, at: index, seen: &seen, scopes: &scopes, serviceAccounts: serviceAccounts)
            switch found {
            case .success(let valid): result.append(valid)
            case .failure(let entryProblems): problems += entryProblems.problems
            }
        }
        guard problems.isEmpty else {
            throw CoreError.invalidEntries(Array(problems.sorted { $0.index < $1.index }.prefix(EntryProblem.limit)))
        }
        return result
    }

    struct EntryProblems: Error { var problems: [EntryProblem] }

    /// The entries of a batch nearly always share one scope and service account: parse and
    /// compare each scope once per batch, not once per entry (it was a fifth of a 1,000-entry
    /// request's time).
    struct ScopeMemo {
        private var normalized: [String: (scope: String, wellFormed: Bool)] = [:]
        private var excess: [String: [String]] = [:]

        mutating func normalize(_ raw: String) -> (scope: String, wellFormed: Bool) {
            if let known = normalized[raw] { return known }
            let result = (Scope.normalized(raw), Scope.isValid(raw))
            normalized[raw] = result
            return result
        }

        mutating func excess(_ scope: String, within serviceAccount: ServiceAccountRecord) -> [String] {
            let key = serviceAccount.id + "\u{0}" + serviceAccount.delegatedScope + "\u{0}" + scope
            if let known = excess[key] { return known }
            let result = Scope.excess(scope, within: serviceAccount.delegatedScope)
            excess[key] = result
            return result
        }
    }

    /// One entry's problems: its email (form, duplicate), its service account, its scope.
    private func check(_ entry: AccountRequestEntry, at index: Int, seen: inout [String: Int], scopes: inout ScopeMemo,
                       serviceAccounts: [ServiceAccountRecord]) -> Result<ValidEntry, EntryProblems> {
        var problems: [EntryProblem] = []
        func problem(_ name: String, _ message: String) {
            problems.append(EntryProblem(index: index, field: "accounts[\(index)].\(name)", message: message))
        }
        if let emailProblem = Email.problem(entry.email) {
            problem("email", emailProblem)
        } else {
            let key = Email.key(entry.email)
            if let first = seen[key] { problem("email", "duplicate of accounts[\(first)].email") } else { seen[key] = index }
        }
        let (scope, wellFormed) = scopes.normalize(entry.scope ?? configuration.defaultAccountScope)
        if !wellFormed { problem("scope", "a scope is a list of space-separated words") }
        switch serviceAccount(for: entry, among: serviceAccounts) {
        case .failure(let message):
            problem("service_account_id", message.text)
        case .success(let serviceAccount):
            let excess = scopes.excess(scope, within: serviceAccount)
            if problems.isEmpty, !excess.isEmpty {
                problem("scope", "\(excess.joined(separator: " ")) is not within the delegated scope of service account \(serviceAccount.id)")
            }
            if problems.isEmpty {
                return .success(ValidEntry(email: Email.normalized(entry.email), scope: scope, serviceAccountID: serviceAccount.id,
                                           renew: entry.renew))
            }
        }
        return .failure(EntryProblems(problems: problems))
    }

    struct ServiceAccountProblem: Error { var text: String }

    /// The named service account, else the only active one, else the only one of the email's domain.
    private func serviceAccount(for entry: AccountRequestEntry,
                                among serviceAccounts: [ServiceAccountRecord]) -> Result<ServiceAccountRecord, ServiceAccountProblem> {
        if let id = entry.serviceAccountID {
            guard let found = serviceAccounts.first(where: { $0.id == id }) else {
                return .failure(ServiceAccountProblem(text: "no service account \(id)"))
            }
            guard found.status == .active else {
                return .failure(ServiceAccountProblem(text: "service account \(id) is \(found.status.rawValue)"))
            }
            return .success(found)
        }
        let active = serviceAccounts.filter { $0.status == .active }
        let domain = Email.domain(entry.email)
        let sameDomain = active.filter { $0.domain?.lowercased() == domain }
        if active.count == 1 { return .success(active[0]) }
        if sameDomain.count == 1 { return .success(sameDomain[0]) }
        if active.isEmpty { return .failure(ServiceAccountProblem(text: "no service account is connected")) }
        return .failure(ServiceAccountProblem(
            text: "required: \(sameDomain.isEmpty ? active.count : sameDomain.count) service accounts could serve \(domain ?? "this domain")"))
    }

    /// Writes a new request (request id, state, callback URL) and the `account.requested` event.
    /// Any earlier request is superseded. An account that is `active` stays so on its current
    /// grant: the request is a renewal, its scope and service account wait in the renewal columns
    /// until its code is exchanged. Any other account becomes `pending` and loses its tokens.
    func prepareRequest(_ transaction: any CoreTransaction, email: String, scope: String, serviceAccountID: String, now: Date,
                        reason: String?, attempt: Int = 1) throws -> PreparedRequest {
        let key = Email.key(email)
        let requestID = try Self.randomToken()
        let state = try Self.randomToken()
        let callbackURL = configuration.delegatedCallbackURL(requestID: requestID)
        // Until Cronofy accepts the request, a failed send is retried by the sweep, no earlier.
        let (rowID, renewal) = try transaction.writeRequest(RequestWrite(
            email: email, emailKey: key, scope: scope, serviceAccountID: serviceAccountID, requestID: requestID,
            stateHash: SecretHash.of(state), sendDeadline: now.addingTimeInterval(60), now: now))
        let sealedState = try secrets.seal(state, table: "accounts", row: String(rowID), column: "state")
        try transaction.attachRequestState(rowID: rowID, sealedState: sealedState, callbackURL: callbackURL, attempt: attempt)
        try transaction.clearInbox(accountRow: rowID)
        var data: [String: JSONValue] = ["scope": .string(scope)]
        if let reason { data["reason"] = .string(reason) }
        if attempt > 1 { data["attempt"] = .number(Double(attempt)) }
        if renewal { data["renewal"] = .bool(true) }
        try transaction.appendEvent(.accountRequested, serviceAccountID: serviceAccountID, email: email, data: data, at: now)
        return PreparedRequest(rowID: rowID, email: email, emailKey: key, scope: scope, serviceAccountID: serviceAccountID,
                               requestID: requestID, state: state, callbackURL: callbackURL, renewal: renewal)
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
                // At shutdown the rest stays claimed; the sweep sends it after the restart.
                if stopping { return }
                let end = min(start + CronofyClient.maxBatch, group.count)
                await sendBatch(serviceAccountID, Array(group[start..<end]))
                start = end
            }
        }
    }
}
