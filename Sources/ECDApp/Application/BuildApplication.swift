import ECDCore
import ECDCorePostgres
import ECDPostgres
import ECDCrypto
import ECDHTTP
import ECDSQLite
import Foundation
import Logging

/// Assembles the daemon from its configuration: database (migrated), keyring, Cronofy client
/// under one request budget, the service layer, and the two listeners with their routes.
/// The listeners are bound first, before anything is built from their addresses (so port 0 works,
/// and a port in use fails before the database is touched); nothing is served or started until
/// `Application.start()`.
public func buildApplication(configuration: AppConfiguration, logger: Logger) throws -> Application {
    try buildApplication(configuration: configuration, logger: logger, tuneCore: { _ in })
}

/// As above; `tuneCore` may change the core's tuning knobs (sweep interval, lease length) and
/// `tuneLimits` both listeners' HTTP limits (timeouts, sizes), which have no configuration key, so
/// tests and the demo need not wait for production intervals. `baseURLForPort`, when given,
/// makes `public.base_url` from the public listener's bound port (tests and the demo listen on
/// port 0 and cannot know it before). `inherited` holds the sockets systemd passed (`ecd serve`
/// under socket activation), taken in place of binding the listeners they are named after.
func buildApplication(configuration: AppConfiguration, logger: Logger,
                      tuneCore: (inout CoreConfiguration) -> Void,
                      tuneLimits: (inout HTTPLimits) -> Void = { _ in },
                      baseURLForPort: ((Int) -> URL)? = nil,
                      inherited: SocketActivation = .none) throws -> Application {
    guard baseURLForPort != nil || configuration.publicListener.baseURL != nil else {
        throw ApplicationError.missingSetting("public.base_url")
    }
    let keyring = try configuration.storage.keyring()
    let postgres = configuration.storage.postgres

    // SQLite, before the database is opened or migrated: a second daemon on it stops here, at
    // once. PostgreSQL is shared by every node: no lock file (a SQLite notion).
    let lock = postgres == nil ? try DatabaseLock.acquire(databasePath: configuration.storage.path) : nil
    let listeners: ApplicationListeners
    var database: Database?
    var pool: PostgresPool?
    do {
        listeners = try ApplicationListeners.bind(configuration, inherited: inherited)
        do {
            if let postgres {
                pool = PostgresPool(PostgresConfiguration(url: postgres.url.url, poolSize: postgres.poolSize,
                                                          applicationName: "ecd serve"))
            } else {
                database = try Database(path: configuration.storage.path)
            }
        } catch {
            listeners.close()
            throw error
        }
    } catch {
        lock?.release()
        throw error
    }
    do {
        let baseURL = baseURLForPort?(listeners.publicListener.port) ?? configuration.publicListener.baseURL!
        if let database { try CoreSchema.migrate(database) }
        if let pool, let postgres {
            // Safe when several nodes start at once (an advisory lock per step).
            do {
                try CorePostgresSchema.migrate(pool)
            } catch {
                throw ApplicationError.storage(postgres.url.scrub("cannot migrate \(postgres.url.redacted): \(error)"))
            }
        }

        var cronofy = CronofyAccess(clientID: configuration.cronofy.clientID, apiURL: configuration.cronofy.apiURL,
                                    siteURL: configuration.cronofy.appURL,
                                    requestsPerMinute: configuration.refresh.cronofyRequestsPerMinute)
        cronofy.onCall = ECDMetrics.recordCronofyCall
        cronofy.onBudgetWait = ECDMetrics.recordBudgetWait

        var coreConfiguration = CoreConfiguration(
            publicBaseURL: baseURL,
            serviceAccountScope: configuration.serviceAccount.scope,
            delegatedScope: configuration.serviceAccount.delegatedScope,
            defaultAccountScope: configuration.accounts.defaultScope,
            callbackTimeout: configuration.accounts.callbackTimeout,
            refreshLead: configuration.refresh.lead,
            requireCallbackSignature: configuration.cronofy.requireCallbackSignature,
            clientSecret: configuration.cronofy.clientSecret,
            webhookURL: configuration.events.webhookURL,
            webhookSecrets: configuration.events.webhookSecrets.map { Array($0.utf8) })
        coreConfiguration.reauthorizeInterval = .seconds(configuration.accounts.reauthorizeIntervalSeconds)
        coreConfiguration.callbackAttempts = configuration.accounts.callbackAttempts
        coreConfiguration.eventRetention = configuration.events.retention
        // The lock makes this process a SQLite database's only user (see DatabaseLock); PostgreSQL
        // is shared by the nodes of a cluster.
        coreConfiguration.soleProcess = database != nil
        if let postgres { coreConfiguration.clusterLeaseDuration = .seconds(postgres.leaseSeconds) }
        tuneCore(&coreConfiguration)
        let coreDatabase: CoreDatabase = pool.map { .postgres($0) } ?? .sqlite(database!)
        // A keyring that cannot open what the database holds would fail every callback and refresh
        // of those rows: refuse to start with it (checked before anything serves, so synchronously),
        // on PostgreSQL as on SQLite (a node with an old keyring must not join the cluster).
        let missing: [String: Int]
        do {
            missing = try coreDatabase.keysMissing(from: keyring)
        } catch let error as StorageError {
            if let postgres { throw ApplicationError.storage(postgres.url.scrub("cannot read \(postgres.url.redacted): \(error)")) }
            throw error
        }
        guard missing.isEmpty else { throw ApplicationError.keyringRefused(.lacksKeysInUse(missing)) }
        let core = EnterpriseConnect(configuration: coreConfiguration, database: coreDatabase, keyring: keyring,
                                     cronofy: cronofy, logger: logger)

        let publicRoutes = PublicRoutes(
            core: core, logger: logger, secureCookies: baseURL.scheme?.lowercased() == "https",
            applicationName: configuration.cronofy.applicationName ?? configuration.cronofy.clientID,
            cronofyOrigin: originOf(configuration.cronofy.appURL)
        ).makeTable()
        let audit: AuditLog
        do {
            audit = try AuditLog(path: configuration.audit.effectivePath(storagePath: configuration.storage.path))
        } catch {
            throw ApplicationError.audit(error.description)
        }
        var internalRouteBuilder = InternalRoutes(core: core, logger: logger, apiKeys: configuration.internalListener.apiKeys,
                                                  renderMetrics: ECDMetrics.render)
        internalRouteBuilder.audit = audit
        internalRouteBuilder.openProbes = configuration.internalListener.openProbes
        let internalRoutes = internalRouteBuilder.makeTable()

        var limits = HTTPLimits()
        tuneLimits(&limits)
        var publicServerConfiguration = HTTPServerConfiguration(
            name: "public", listen: configuration.publicListener.listen, limits: limits)
        let publicLog = AccessLog(logger: logger, listener: "public",
                                  clientResolver: ClientAddressResolver(trustedProxies: configuration.publicListener.trustedProxies))
        publicServerConfiguration.onResponse = publicLog.record

        var internalServerConfiguration = HTTPServerConfiguration(
            name: "internal", listen: configuration.internalListener.listen, limits: limits)
        let internalLog = AccessLog(logger: logger, listener: "internal", clientResolver: nil)
        internalServerConfiguration.onResponse = internalLog.record
        // A service asking during a stop is told to come back (or to go to another node); Cronofy's
        // callbacks on the public listener are still taken, since Cronofy does not retry them.
        var retryLater = HTTPHeaders()
        retryLater.add(name: "Retry-After", value: "5")
        internalServerConfiguration.drainingResponse = APIError(
            .serviceUnavailable, code: "shutting_down", message: "ecd is shutting down; retry shortly",
            headers: retryLater).response
        // The key is checked on the request's head, so a client without one never gets the
        // server to read, let alone hold, a body.
        internalServerConfiguration.headHook = APIKeyAuthentication(guardian: internalRouteBuilder.guardian).checkHead

        return Application(
            core: core, database: database, postgresPool: pool, databaseLock: lock, listeners: listeners,
            publicServer: HTTPServer(configuration: publicServerConfiguration, responder: publicRoutes.router),
            internalServer: HTTPServer(configuration: internalServerConfiguration, responder: internalRoutes.router),
            apiKeys: configuration.internalListener.apiKeys, audit: audit, internalRouteList: internalRoutes.registered,
            logger: logger,
            drainDeadline: configuration.server.drainDeadline,
            internalIsRemote: !listeners.internalListener.address.isLocal,
            keyringSource: configuration.rereadKeyring.map { reread in
                { @Sendable () throws -> Keyring in try Keyring(keys: try reread().map { Keyring.Key(id: $0.id, bytes: $0.bytes) }) }
            })
    } catch {
        listeners.close()
        database?.close()
        pool?.close()
        lock?.release()
        throw error
    }
}

/// The daemon's two listening sockets, bound before the daemon is built from their addresses.
struct ApplicationListeners: Sendable {
    let publicListener: BoundListener
    let internalListener: BoundListener

    /// The internal listener first, then the public one, each taking its socket from `inherited`
    /// or else binding its configured address; a failure closes what was bound and names the
    /// listener's setting.
    static func bind(_ configuration: AppConfiguration,
                     inherited: SocketActivation = .none) throws(ApplicationError) -> ApplicationListeners {
        let internalListener: BoundListener
        do {
            // Only the application's own services reach a unix socket: let them in (group), nobody else.
            internalListener = try listener(configuration.internalListener.listen, inherited: inherited.sockets["internal"],
                                            unixSocketMode: 0o660)
        } catch {
            throw .cannotListen(key: "internal.listen", error)
        }
        // An inherited socket may be bound anywhere: the rule `internal.listen` is held to holds for it.
        if let fd = inherited.sockets["internal"], !internalListener.address.isLocal, !configuration.internalListener.allowRemote {
            internalListener.close()
            throw .cannotListen(key: "internal.listen", .inheritedSocket(fd: fd, problem: """
                is bound to \(internalListener.address), which other hosts can reach; bind it to a loopback \
                address or a unix socket, or set internal.allow_remote to true and put TLS in front
                """))
        }
        do {
            let publicListener = try listener(configuration.publicListener.listen, inherited: inherited.sockets["public"])
            return ApplicationListeners(publicListener: publicListener, internalListener: internalListener)
        } catch {
            internalListener.close()
            throw .cannotListen(key: "public.listen", error)
        }
    }

    private static func listener(_ configured: ListenAddress, inherited fd: Int32?,
                                 unixSocketMode: UInt32 = 0o660) throws(HTTPServerError) -> BoundListener {
        guard let fd else { return try BoundListener(configured, unixSocketMode: unixSocketMode) }
        return try BoundListener(inheriting: fd, configured: configured)
    }

    /// Closes both (a listener already served is the server's to close: nothing happens to it).
    func close() {
        publicListener.close()
        internalListener.close()
    }
}

/// `scheme://host[:port]` of `url`, as a CSP source expression names an origin.
func originOf(_ url: URL) -> String {
    guard let scheme = url.scheme, let host = url.host else { return "'none'" }
    let bracketed = host.contains(":") ? "[\(host)]" : host
    return url.port.map { "\(scheme)://\(bracketed):\($0)" } ?? "\(scheme)://\(bracketed)"
}
