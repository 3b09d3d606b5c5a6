import ECDCronofy
import FoundationEssentials

/// Reads of service accounts, and their resources from Cronofy.
extension Connections {
    func serviceAccounts() async throws -> [ServiceAccount] {
        try await storage.read { try $0.serviceAccounts() }.map(\.model)
    }

    func serviceAccount(id: String) async throws -> ServiceAccount {
        guard let record = try await storage.read({ try $0.serviceAccount(id: id) }) else {
            throw CoreError.notFound("no service account \(id)")
        }
        return record.model
    }

    func resources(serviceAccountID: String) async throws -> [CalendarResource] {
        let owner = TokenOwner.serviceAccount(serviceAccountID)
        let token = try await vault.validToken(owner, minValidity: .seconds(60)).accessToken
        do {
            return try await cronofy.resources(accessToken: token).map(Self.calendarResource)
        } catch .unauthorized {
            // The token was refused although unexpired: refresh it and try once more.
            let fresh = try await vault.refreshedToken(owner, force: true, minValidity: .zero).accessToken
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

}
