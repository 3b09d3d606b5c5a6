import FoundationEssentials

/// Connect links, OAuth state and service accounts: the admin's round trip through Cronofy
/// (`Flows/Connections+Connect.swift`), the service accounts' reads and their resources
/// (`Flows/Connections+Queries.swift`).
final class Connections: CorePart {
    let context: CoreContext
    /// The service account's tokens (resources), and the cached tokens a reconnect drops.
    let vault: TokenVault
    /// A reconnected service account asks again for the accounts it had put at risk.
    let requests: AccountRequests

    init(context: CoreContext, vault: TokenVault, requests: AccountRequests) {
        self.context = context
        self.vault = vault
        self.requests = requests
    }
}
