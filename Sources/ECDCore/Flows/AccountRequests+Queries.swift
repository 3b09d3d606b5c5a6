import FoundationEssentials

/// Reads of accounts (paged by email).
extension AccountRequests {
    func account(email: String) async throws -> Account {
        let key = Email.key(email)
        guard let record = try await storage.read({ try $0.account(emailKey: key) }) else {
            throw CoreError.notFound("no account \(email)")
        }
        return record.model
    }

    /// Ordered by (lower-cased) email; `after` is the `next` of the previous page. `renewal`
    /// (`pending` or `failed`) keeps the active accounts whose renewal is in that state.
    func accounts(status: AccountStatus?, serviceAccountID: String?, limit: Int, after: String?,
                         renewal: String? = nil) async throws -> AccountPage {
        guard (1...1000).contains(limit) else { throw CoreError.invalid(field: "limit", message: "between 1 and 1000") }
        let query = AccountQuery(status: status, renewal: renewal, serviceAccountID: serviceAccountID,
                                 afterEmailKey: after.map(Email.key), limit: limit + 1)
        let records = try await storage.read { try $0.accounts(query) }
        let page = Array(records.prefix(limit))
        let next = records.count > limit ? page.last?.emailKey : nil
        return AccountPage(accounts: page.map(\.model), next: next)
    }

}
