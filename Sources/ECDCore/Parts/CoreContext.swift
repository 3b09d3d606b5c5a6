import ECDCronofy
import ECDCrypto
import ECDSync
import FoundationEssentials
import Logging

/// What the parts of the service layer share (issue 13 item 5): the settings, the storage seam,
/// the live keyring, the Cronofy client, the logger, the metrics and the background tasks. One per
/// facade; each part (`Connections`, `AccountRequests`, `TokenVault`, `Revocations`, `EventFeed`)
/// holds it and owns nothing of it, so a part reads alone with this file beside it.
final class CoreContext: Sendable {
    let configuration: CoreConfiguration
    /// Every read and write of the flows goes through this seam (docs/design/storage-drivers.md).
    let storage: any CoreStorage
    /// The live keyring (replaced by `replaceKeyring`), read at each seal and open.
    let keyrings: Locked<KeyringState>
    /// The one client of Cronofy's API (ECDCronofy stays behind this internal seam).
    let cronofy: CronofyClient
    let logger: Logger
    let metrics: CoreMetrics
    let background = BackgroundTasks()
    /// The Cronofy API base every token belongs to (the token object's `api_url`).
    let apiURL: String
    /// This facade's name in the leases it holds on shared work (inbox claims, cluster leases):
    /// random per start, so a restarted node never mistakes its dead predecessor's lease for its own.
    let nodeID: String

    init(configuration: CoreConfiguration, storage: any CoreStorage, keyring: Keyring, cronofy: CronofyClient,
         logger: Logger) {
        self.configuration = configuration
        self.storage = storage
        self.keyrings = Locked(KeyringState(keyring: keyring))
        self.cronofy = cronofy
        self.logger = logger
        self.metrics = CoreMetrics()
        var api = cronofy.apiURL.absoluteString
        while api.hasSuffix("/") { api.removeLast() }
        self.apiURL = api
        self.nodeID = (try? SecureRandom.token(byteCount: 12)) ?? UUID().uuidString
    }
}

/// A part of the service layer: reaches the shared things through its context by their old names,
/// so a flow reads the same in whichever part owns it.
protocol CorePart: Sendable {
    var context: CoreContext { get }
}

extension CorePart {
    var configuration: CoreConfiguration { context.configuration }
    var storage: any CoreStorage { context.storage }
    var keyrings: Locked<KeyringState> { context.keyrings }
    var secrets: SecretBox { SecretBox(keyring: context.keyrings.withLock { $0.keyring }) }
    var cronofy: CronofyClient { context.cronofy }
    var logger: Logger { context.logger }
    var metrics: CoreMetrics { context.metrics }
    var background: BackgroundTasks { context.background }
    var apiURL: String { context.apiURL }
    var nodeID: String { context.nodeID }

    /// The background loops end at their next step once shutdown began (or their task was cancelled).
    var stopping: Bool { context.background.isStopping || Task.isCancelled }

    /// A fresh random token (links, OAuth state, request ids).
    static func randomToken() throws -> String {
        try SecureRandom.token(byteCount: 32)
    }
}
