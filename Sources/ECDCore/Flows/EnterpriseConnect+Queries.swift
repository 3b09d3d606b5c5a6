import ECDCronofy
import Foundation

/// Reads: service accounts, accounts (paged by email), events, and resources from Cronofy.
extension EnterpriseConnect {
    public func serviceAccounts() async throws -> [ServiceAccount] {
        try await storage.read { try $0.serviceAccounts() }.map(\.model)
    }

    public func serviceAccount(id: String) async throws -> ServiceAccount {
        guard let record = try await storage.read({ try $0.serviceAccount(id: id) }) else {
            throw CoreError.notFound("no service account \(id)")
        }
        return record.model
    }

    public func resources(serviceAccountID: String) async throws -> [CalendarResource] {
        let owner = TokenOwner.serviceAccount(serviceAccountID)
        let token = try await validToken(owner, minValidity: .seconds(60)).accessToken
        do {
            return try await cronofy.resources(accessToken: token).map(Self.calendarResource)
        } catch .unauthorized {
            // The token was refused although unexpired: refresh it and try once more.
            let fresh = try await refreshedToken(owner, force: true, minValidity: .zero).accessToken
            do {
                return try await cronofy.resources(accessToken: fresh).map(Self.calendarResource)
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

    private static func calendarResource(_ resource: Resource) -> CalendarResource {
        CalendarResource(email: resource.email, name: resource.name)
    }

    public func account(email: String) async throws -> Account {
        let key = Email.key(email)
        guard let record = try await storage.read({ try $0.account(emailKey: key) }) else {
            throw CoreError.notFound("no account \(email)")
        }
        return record.model
    }

    /// Ordered by (lower-cased) email; `after` is the `next` of the previous page. `renewal`
    /// (`pending` or `failed`) keeps the active accounts whose renewal is in that state.
    public func accounts(status: AccountStatus?, serviceAccountID: String?, limit: Int, after: String?,
                         renewal: String? = nil) async throws -> AccountPage {
        guard (1...1000).contains(limit) else { throw CoreError.invalid(field: "limit", message: "between 1 and 1000") }
        let query = AccountQuery(status: status, renewal: renewal, serviceAccountID: serviceAccountID,
                                 afterEmailKey: after.map(Email.key), limit: limit + 1)
        let records = try await storage.read { try $0.accounts(query) }
        let page = Array(records.prefix(limit))
        let next = records.count > limit ? page.last?.emailKey : nil
        return AccountPage(accounts: page.map(\.model), next: next)
    }

    public func events(after: Int64?, limit: Int) async throws -> EventPage {
        guard (1...1000).contains(limit) else { throw CoreError.invalid(field: "limit", message: "between 1 and 1000") }
        let start = max(0, after ?? 0)
        let events = try await storage.read { try $0.events(after: start, limit: limit) }
        return EventPage(events: events, nextAfter: events.last?.id ?? start)
    }
}
