import ECDCronofy
import ECDCrypto
import ECDSQLite
import ECDSync
import FoundationEssentials
import Logging

/// The service layer of ecd: connect links and OAuth state, service accounts, delegated-access
/// requests, the callback inbox, the token vault with its refresher, revocation, events and their
/// webhook. ECDApp's routes and commands call only this facade, which forwards each call to the
/// part that owns its state (`Parts/`): `Connections`, `AccountRequests`, `TokenVault`,
/// `Revocations`, `EventFeed`; what they share is one `CoreContext`. The facade itself keeps the
/// keyring's reload and rewrap (`EnterpriseConnect+Keyring.swift`), readiness, and the background
/// loops' start and stop. The database must be migrated first (`CoreSchema.migrate`, an explicit
/// step of `serve`, `migrate`, the demo and the tests); making the facade writes nothing.
public final class EnterpriseConnect: CorePart {
    let context: CoreContext
    let connections: Connections
    let requests: AccountRequests
    let vault: TokenVault
    let revocations: Revocations
    let events: EventFeed
    let sweepSignal = WakeSignal()

    /// The daemon's facade: `cronofy` says how to reach Cronofy; the core builds its client from it.
    public convenience init(configuration: CoreConfiguration, database: CoreDatabase, keyring: Keyring,
                            cronofy: CronofyAccess, logger: Logger) {
        self.init(configuration: configuration, database: database, keyring: keyring,
                  cronofyClient: cronofy.makeClient(clientSecret: configuration.clientSecret, database: database, logger: logger),
                  logger: logger, webhookTransport: HTTPTransport())
    }

    /// Tests only: a client of their own (a shared budget, short retries, a recording transport)
    /// and the transport of the webhook's POSTs. `package`, not `@_spi(Testing)`: the compiler
    /// keeps it inside this package and out of the public interface (and out of the check of
    /// `scripts/core-interface-check.sh`) without a marker every importer must spell.
    package init(configuration: CoreConfiguration, database: CoreDatabase, keyring: Keyring,
                 cronofyClient cronofy: CronofyClient, logger: Logger,
                 webhookTransport: any CronofyTransport = HTTPTransport()) {
        let storage = database.makeStorage(soleProcess: configuration.soleProcess, logger: logger)
        let context = CoreContext(configuration: configuration, storage: storage, keyring: keyring, cronofy: cronofy,
                                  logger: logger)
        let vault = TokenVault(context: context)
        let requests = AccountRequests(context: context, vault: vault)
        vault.setReauthorizer { [weak requests] state in try await requests?.beginReauthorization(state) ?? false }
        self.context = context
        self.vault = vault
        self.requests = requests
        self.connections = Connections(context: context, vault: vault, requests: requests)
        self.revocations = Revocations(context: context, vault: vault)
        self.events = EventFeed(context: context, webhookTransport: webhookTransport)
    }

    /// Launches the background work: inbox processing (which first finishes what a crash left),
    /// the periodic sweeps (callback timeouts, unsent requests, refresh ahead, last-used flush,
    /// gauges) and, when configured, webhook delivery.
    public func start() {
        vault.grantFeed?.start()
        background.start(self)
    }

    /// The longest `shutdown()` takes: the background loops' stop deadline, then the last-used
    /// flush, one write whose wait for SQLite's lock is bounded by its busy timeout (5 s).
    public static let shutdownDeadline: Duration = BackgroundTasks.stopDeadline + .seconds(5)

    /// Stops the background work and waits for it: in-flight calls to Cronofy finish (bounded by
    /// the client's timeout); an exchange interrupted anyway is retried at the next start (its
    /// inbox row stays open). Takes at most `shutdownDeadline`.
    public func shutdown() async {
        let inbox = requests.inboxSignal, webhook = events.webhookSignal, sweep = sweepSignal
        let retention = events.retentionSignal
        let inTime = await background.stop { inbox.signal(); webhook.signal(); sweep.signal(); retention.signal() }
        if !inTime { logger.warning("background work cancelled at the shutdown deadline") }
        vault.grantFeed?.stop()
        await vault.flushLastUsed()
    }

    /// Problems that make the daemon unfit to serve; empty when ready. Cheap enough for every
    /// probe: the storage's `health()` does not commit per call (issue 13 item 2).
    public func readiness() async -> [String] {
        var problems: [String] = []
        if case .unavailable(let problem) = await storage.health() { problems.append(problem) }
        if vault.grantFeed?.isMissingChanges == true {
            problems.append("not listening for other nodes' grant changes: cached tokens may be stale")
        }
        if configuration.clientSecret.isEmpty { problems.append("cronofy.client_secret is empty") }
        if let keyringProblem = await keyringProblem() { problems.append(keyringProblem) }
        return problems
    }
}
