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
    let database: Database
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

    public convenience init(configuration: CoreConfiguration, database: Database, keyring: Keyring,
                            cronofy: CronofyClient, logger: Logger) {
        self.init(configuration: configuration, database: database, keyring: keyring, cronofy: cronofy,
                  logger: logger, webhookTransport: URLSessionTransport())
    }

    /// `webhookTransport` carries the event webhook's POSTs (tests pass their own).
    public init(configuration: CoreConfiguration, database: Database, keyring: Keyring, cronofy: CronofyClient,
                logger: Logger, webhookTransport: any CronofyTransport) {
        self.configuration = configuration
        self.database = database
        self.keyrings = Locked(KeyringState(keyring: keyring))
        self.cronofy = cronofy
        self.logger = logger
        self.cache = TokenCache(capacity: configuration.tokenCacheCapacity)
        self.webhookTransport = webhookTransport
        self.leaseOwner = (try? SecureRandom.token(byteCount: 12)) ?? UUID().uuidString
        var api = cronofy.apiURL.absoluteString
        while api.hasSuffix("/") { api.removeLast() }
        self.apiURL = api
        if configuration.soleProcess {
            do {
                try Self.clearLeases(database, logger: logger)
            } catch {
                // Not fatal: the leases then run out as they would with several processes.
                logger.error("clearing stale refresh leases failed", metadata: ["error": "\(error)"])
            }
        }
        let metrics = CoreMetrics()
        let signal = WakeSignal()
        self.metrics = metrics
        self.inboxSignal = signal
        self.intake = CallbackIntake(database: database, metrics: metrics) { signal.signal() }
    }

    /// Refresh leases of a process that died while refreshing: with the database held alone
    /// nobody else can be refreshing, so a refresh asked for right after start need not wait up
    /// to `refreshLeaseDuration` for them to run out.
    private static func clearLeases(_ database: Database, logger: Logger) throws {
        let cleared = try database.write { connection in
            var cleared = 0
            for table in ["service_accounts", "accounts"] {
                try connection.execute(
                    "UPDATE \(table) SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL")
                cleared += connection.changes
            }
            return cleared
        }
        if cleared > 0 {
            logger.notice("refresh leases of a previous process cleared", metadata: ["count": .stringConvertible(cleared)])
        }
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

    /// Problems that make the daemon unfit to serve; empty when ready.
    public func readiness() -> [String] {
        var problems: [String] = []
        do {
            try database.write { connection in
                try connection.execute("UPDATE webhook_cursor SET last_event_id = last_event_id WHERE id = 1")
            }
        } catch {
            problems.append("the database is not writable: \(error)")
        }
        if configuration.clientSecret.isEmpty { problems.append("cronofy.client_secret is empty") }
        if let keyringProblem = keyringProblem() { problems.append(keyringProblem) }
        return problems
    }

    static func randomToken() throws -> String {
        try SecureRandom.token(byteCount: 32)
    }
}
