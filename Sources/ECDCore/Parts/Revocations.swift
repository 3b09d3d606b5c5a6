import FoundationEssentials

/// Revoking accounts and service accounts at Cronofy (or here only), and the background retry of
/// revocations Cronofy has not confirmed (`Flows/Revocations+Revoke.swift`).
final class Revocations: CorePart {
    let context: CoreContext
    /// The cached tokens a revocation drops.
    let vault: TokenVault

    init(context: CoreContext, vault: TokenVault) {
        self.context = context
        self.vault = vault
    }
}
