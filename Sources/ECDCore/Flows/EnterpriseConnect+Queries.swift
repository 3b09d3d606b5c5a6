import ECDCronofy
import ECDSQLite
import Foundation

/// Reads: service accounts, accounts (paged by email), events, and resources from Cronofy.
extension EnterpriseConnect {
    public func serviceAccounts() throws -> [ServiceAccount] {
        try database.read { try ServiceAccountRecord.all($0) }.map(\.model)
    }

    public func serviceAccount(id: String) throws -> ServiceAccount {
        guard let record = try database.read({ try ServiceAccountRecord.load($0, id: id) }) else {
            throw CoreError.notFound("no service account \(id)")
        }
        return record.model
    }

    public func resources(serviceAccountID: String) async throws -> [Resource] {
        let owner = TokenOwner.serviceAccount(serviceAccountID)
        let token = try await validToken(owner, minValidity: .seconds(60)).accessToken
        do {
            return try await cronofy.resources(accessToken: token)
        } catch .unauthorized {
            // The token was refused although unexpired: refresh it and try once more.
            let fresh = try await refreshedToken(owner, force: true, minValidity: .zero).accessToken
            do {
                return try await cronofy.resources(accessToken: fresh)
            } catch .paymentRequired {
                throw CoreError.cronofyPlanRequired
            } catch {
                throw CoreError.cronofyUnavailable("listing resources failed (\(error))")
            }
        } catch .paymentRequired {
            throw CoreError.cronofyPlanRequired
        } catch {
            throw CoreError.cronofyUnavailable("listing resources failed (\(error))")
        }
    }

    public func account(email: String) throws -> Account {
        guard let record = try database.read({ try AccountRecord.load($0, emailKey: Email.key(email)) }) else {
            throw CoreError.notFound("no account \(email)")
        }
        return record.model
    }

    /// Ordered by (lower-cased) email; `after` is the `next` of the previous page. `renewal`
    /// (`pending` or `failed`) keeps the active accounts whose renewal is in that state.
    public func accounts(status: AccountStatus?, serviceAccountID: String?, limit: Int, after: String?,
                         renewal: String? = nil) throws -> AccountPage {
        guard (1...1000).contains(limit) else { throw CoreError.invalid(field: "limit", message: "between 1 and 1000") }
        var conditions: [String] = []
        var arguments: [any SQLValueConvertible] = []
        if let status { conditions.append("status = ?"); arguments.append(status.rawValue) }
        if let renewal { conditions.append("status = 'active' AND renewal_status = ?"); arguments.append(renewal) }
        if let serviceAccountID { conditions.append("service_account_id = ?"); arguments.append(serviceAccountID) }
        if let after { conditions.append("email_key > ?"); arguments.append(Email.key(after)) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(limit + 1)
        let records = try database.read { connection in
            try connection.query(
                "SELECT \(AccountRecord.columns) FROM accounts \(whereClause) ORDER BY email_key LIMIT ?", arguments
            ).map(AccountRecord.init)
        }
        let page = Array(records.prefix(limit))
        let next = records.count > limit ? page.last?.emailKey : nil
        return AccountPage(accounts: page.map(\.model), next: next)
    }

    public func events(after: Int64?, limit: Int) throws -> EventPage {
        guard (1...1000).contains(limit) else { throw CoreError.invalid(field: "limit", message: "between 1 and 1000") }
        let start = max(0, after ?? 0)
        let events = try database.read { try EventLog.page($0, after: start, limit: limit) }
        return EventPage(events: events, nextAfter: events.last?.id ?? start)
    }
}
