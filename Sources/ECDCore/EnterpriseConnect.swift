import ECDCronofy
import ECDCrypto
import ECDSQLite
import ECDSync
import Foundation
import Logging

/// The service layer of ecd: connect links and OAuth state, service accounts, delegated-access
/// requests, the callback inbox, the token vault with its refresher, revocation, events and their
/// webhook. ECDApp's routes and commands call only this facade. The flows live in the
/// `EnterpriseConnect+*.swift` extensions; the background loops in `Background/`. The database
/// must be migrated first (`CoreSchema.migrate`, an explicit step of `serve`, `migrate`, the demo and
/// the tests); making the facade writes nothing.
public final class EnterpriseConnect: Sendable {
    let configuration: CoreConfiguration
    /// Every read and write of the flows goes through this seam (docs/design/storage-drivers.md).
    let storage: any CoreStorage
    /// The live keyring (replaced by `replaceKeyring`), read at each seal and open.
    let keyrings: Locked<KeyringState>
    var secrets: SecretBox { SecretBox(keyring: keyrings.withLock { $0.keyring }) }
    let cronofy: CronofyClient
    let logger: Logger
    let metrics: CoreMetrics
    let cache: TokenCache
    let refreshFlights = SingleFlight<TokenOwner, RefreshResult>()
    let inboxSignal: WakeSignal
    let webhookSignal = WakeSignal()
    let sweepSignal = WakeSignal()
    let retentionSignal = WakeSignal()
    let intake: CallbackIntake
    let background = BackgroundTasks()
    let webhookTransport: any CronofyTransport
    /// Names this process in the refresh lease columns.
    let leaseOwner: String
    /// The Cronofy API base every token belongs to (the token object's `api_url`).
    let apiURL: String

    /// The daemon's facade: `cronofy` says how to reach Cronofy; the core builds its client from it.
    public convenience init(configuration: CoreConfiguration, database: CoreDatabase, keyring: Keyring,
                            cronofy: CronofyAccess, logger: Logger) {
        self.init(configuration: configuration, database: database, keyring: keyring,
                  cronofyClient: cronofy.makeClient(clientSecret: configuration.clientSecret),
                  logger: logger, webhookTransport: URLSessionTransport())
    }

    /// Tests only: a client of their own (a shared budget, short retries, a recording transport)
    /// and the transport of the webhook's POSTs. `package`, not `@_spi(Testing)`: the compiler
    /// keeps it inside this package and out of the public interface (and out of the check of
    /// `scripts/core-interface-check.sh`) without a marker every importer must spell.
    package init(configuration: CoreConfiguration, database: CoreDatabase, keyring: Keyring,
                 cronofyClient cronofy: CronofyClient, logger: Logger,
                 webhookTransport: any CronofyTransport = URLSessionTransport()) {
        let storage = database.makeStorage(soleProcess: configuration.soleProcess, logger: logger)
        self.configuration = configuration
        self.storage = storage
        self.keyrings = Locked(KeyringState(keyring: keyring))
        self.cronofy = cronofy
        self.logger = logger
        // A read is marked for `last_used_at` again at most every twelfth of the recent-use window
        // (5 minutes of the hour); refresh ahead widens its window by as much (Sweeps.swift).
        self.cache = TokenCache(capacity: configuration.tokenCacheCapacity,
                                remarkAfter: configuration.recentUseWindow.timeInterval / 12)
        self.webhookTransport = webhookTransport
        self.leaseOwner = (try? SecureRandom.token(byteCount: 12)) ?? UUID().uuidString
        var api = cronofy.apiURL.absoluteString
        while api.hasSuffix("/") { api.removeLast() }
        self.apiURL = api
        let metrics = CoreMetrics()
        let signal = WakeSignal()
        self.metrics = metrics
        self.inboxSignal = signal
        self.intake = CallbackIntake(storage: storage, metrics: metrics) { signal.signal() }
    }

    /// Launches the background work: inbox processing (which first finishes what a crash left),
    /// the periodic sweeps (callback timeouts, unsent requests, refresh ahead, last-used flush,
    /// gauges) and, when configured, webhook delivery.
    public func start() {
        background.start(self)
    }

    /// The longest `shutdown()` takes: the background loops' stop deadline, then the last-used
    /// flush, one write whose wait for SQLite's lock is bounded by its busy timeout (5 s).
    public static let shutdownDeadline: Duration = BackgroundTasks.stopDeadline + .seconds(5)

    /// Stops the background work and waits for it: in-flight calls to Cronofy finish (bounded by
    /// the client's timeout); an exchange interrupted anyway is retried at the next start (its
    /// inbox row stays open). Takes at most `shutdownDeadline`.
    public func shutdown() async {
        let inbox = inboxSignal, webhook = webhookSignal, sweep = sweepSignal, retention = retentionSignal
        let inTime = await background.stop { inbox.signal(); webhook.signal(); sweep.signal(); retention.signal() }
        if !inTime { logger.warning("background work cancelled at the shutdown deadline") }
        await flushLastUsed()
    }

    /// Problems that make the daemon unfit to serve; empty when ready. Cheap enough for every
    /// probe: the storage's `health()` does not commit per call (issue 13 item 2).
    public func readiness() async -> [String] {
        var problems: [String] = []
        if case .unavailable(let problem) = await storage.health() { problems.append(problem) }
        if configuration.clientSecret.isEmpty { problems.append("cronofy.client_secret is empty") }
        if let keyringProblem = await keyringProblem() { problems.append(keyringProblem) }
        return problems
    }

    static func randomToken() throws -> String {
        try SecureRandom.token(byteCount: 32)
    }
}
