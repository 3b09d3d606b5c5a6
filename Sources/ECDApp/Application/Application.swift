import ECDCore
import ECDCrypto
import ECDHTTP
import ECDSQLite
import ECDSync
import ECDPostgres
import Foundation
import Logging

/// The running daemon: the service layer, its database and the two listeners, with an ordered
/// start and shutdown. Made by `buildApplication(configuration:logger:)`.
///
/// Building bound both listeners (so a port in use failed before the database was touched); start
/// serves them, then starts the core. Shutdown runs the other way: stop accepting and drain in-flight requests up to
/// a deadline, stop the core's background work, close the database.
public final class Application: Sendable {
    let core: EnterpriseConnect
    /// The SQLite database (driver `sqlite`), or nil on PostgreSQL (`postgresPool`).
    let database: Database?
    /// The PostgreSQL pool (driver `postgres`), closed after the core at shutdown.
    let postgresPool: PostgresPool?
    /// Held from build to the end of shutdown: one daemon per database.
    let databaseLock: DatabaseLock?
    let publicServer: HTTPServer
    let internalServer: HTTPServer
    let logger: Logger
    /// Reloaded on SIGHUP by `run()` when the keys come from a file.
    let apiKeys: APIKeyStore
    /// Synced and closed at shutdown, after the last request that could write to it.
    let audit: AuditLog?
    /// The internal listener's routes as registered, `(method, pattern)` (the role×route test walks them).
    let internalRouteList: [(method: HTTPMethod, pattern: String)]
    private let phase = Locked(Phase.built)
    /// systemd's notify socket, when ecd runs as a `Type=notify` unit.
    private let notifier: SystemdNotifier

    private enum Phase: Sendable { case built, starting, running, stopping, stopped }

    /// Rereads `storage.encryption_keys` for SIGHUP (nil: the configuration was built in code).
    let keyringSource: (@Sendable () throws -> Keyring)?

    /// How long `run()` lets in-flight requests finish after SIGTERM/SIGINT (`server.drain_seconds`).
    public let drainDeadline: Duration
    /// The internal listener is on an address other hosts can reach (`internal.allow_remote`).
    let internalIsRemote: Bool

    /// The bound sockets the servers take at `start()` (closed by `shutdown()` if never started).
    let listeners: ApplicationListeners

    init(core: EnterpriseConnect, database: Database?, postgresPool: PostgresPool? = nil, databaseLock: DatabaseLock? = nil,
         listeners: ApplicationListeners,
         publicServer: HTTPServer, internalServer: HTTPServer,
         apiKeys: APIKeyStore, audit: AuditLog? = nil, internalRouteList: [(method: HTTPMethod, pattern: String)] = [],
         logger: Logger, drainDeadline: Duration = .seconds(30),
         notifier: SystemdNotifier = SystemdNotifier(), internalIsRemote: Bool = false,
         keyringSource: (@Sendable () throws -> Keyring)? = nil) {
        self.keyringSource = keyringSource
        self.audit = audit
        self.internalRouteList = internalRouteList
        self.notifier = notifier
        self.core = core
        self.database = database
        self.postgresPool = postgresPool
        self.databaseLock = databaseLock
        self.listeners = listeners
        self.publicServer = publicServer
        self.internalServer = internalServer
        self.apiKeys = apiKeys
        self.logger = logger
        self.drainDeadline = drainDeadline
        self.internalIsRemote = internalIsRemote
    }

    /// The public listener's port (the real one after binding port 0).
    public var publicPort: Int { listeners.publicListener.port }

    /// The internal listener's address as bound (`127.0.0.1:PORT` or `unix:PATH`).
    public var internalAddress: ListenAddress { listeners.internalListener.address }

    /// The internal listener's port, or 0 on a unix socket.
    public var internalPort: Int { listeners.internalListener.port }

    /// Serves both bound listeners and starts the core's background work.
    public func start() async throws {
        let mayStart = phase.withLock { phase -> Bool in
            guard phase == .built else { return false }
            phase = .starting
            return true
        }
        guard mayStart else { throw ApplicationError.alreadyStarted }
        do {
            try internalServer.start(on: listeners.internalListener)
        } catch {
            phase.withLock { $0 = .built }
            throw ApplicationError.cannotListen(key: "internal.listen", error)
        }
        do {
            try publicServer.start(on: listeners.publicListener)
        } catch {
            await internalServer.shutdown(deadline: .zero)
            phase.withLock { $0 = .built }
            throw ApplicationError.cannotListen(key: "public.listen", error)
        }
        core.start()
        phase.withLock { $0 = .running }
        logger.info("listening", metadata: [
            "public": .string(publicServer.boundAddress.description),
            "internal": .string(internalServer.boundAddress.description),
        ])
        if internalIsRemote {
            logger.warning("""
                the internal listener can be reached from other hosts (internal.allow_remote): its API keys \
                and tokens travel in clear text unless TLS is put in front of it
                """, metadata: [
                    "internal": .string(internalServer.boundAddress.description),
                ])
        }
        // Both listeners are bound and the database is open (buildApplication opened it).
        notifier.notify("READY=1\nSTATUS=serving")
    }

    /// Starts, then serves until SIGTERM or SIGINT; then drains and stops, and returns (so the
    /// process can exit 0). SIGHUP rereads `internal.api_keys_file` when the keys come from one.
    public func run() async throws {
        let signals = SignalListener(signals: [SIGTERM, SIGINT, SIGHUP])
        defer { signals.cancel() }
        try await start()
        let watchdog = notifier.watchdogInterval.map { interval in
            Task { [self] in await keepWatchdogFed(every: interval) }
        }
        defer { watchdog?.cancel() }
        while true {
            let received = await signals.next()
            if received == SIGHUP {
                reloadAPIKeys()
                await reloadKeyring()
                continue
            }
            logger.notice("shutting down", metadata: ["signal": .string(received == SIGTERM ? "SIGTERM" : "SIGINT")])
            break
        }
        // The watchdog stops before the stop begins: a ping must not follow STOPPING=1, nor ask
        // loops and a database that are being closed whether they answer.
        watchdog?.cancel()
        await watchdog?.value
        await shutdown()
        logger.notice("stopped")
    }

    /// The longest a stop takes with `drain` as its drain deadline: both listeners drain at
    /// once, then the core stops. systemd's `TimeoutStopSec` must stay above it (ShippedConfigTests).
    public static func stopDeadline(drain: Duration) -> Duration {
        drain + EnterpriseConnect.shutdownDeadline
    }

    /// Stops accepting, lets in-flight requests finish (up to `deadline`), stops the core, closes
    /// the database. Safe to call more than once and from any state.
    public func shutdown(deadline: Duration? = nil) async {
        let wasRunning = phase.withLock { phase -> Bool? in
            switch phase {
            case .stopping, .stopped: return nil
            case .built: phase = .stopping; return false
            case .starting, .running: phase = .stopping; return true
            }
        }
        guard let wasRunning else { return }
        if wasRunning {
            let deadline = deadline ?? drainDeadline
            notifier.notify("STOPPING=1\nSTATUS=draining")
            async let publicDrained = publicServer.shutdown(deadline: deadline)
            async let internalDrained = internalServer.shutdown(deadline: deadline)
            let (publicReport, internalReport) = await (publicDrained, internalDrained)
            logCut(publicReport, listener: "public", deadline: deadline)
            logCut(internalReport, listener: "internal", deadline: deadline)
            await core.shutdown()
        }
        // Bound at build; a listener a server took is already closed, one never served is closed here.
        listeners.close()
        audit?.close()
        database?.close()
        postgresPool?.close()
        // Only once the database is closed may another process take it.
        databaseLock?.release()
        phase.withLock { $0 = .stopped }
    }

    /// Requests still running when the drain deadline closed their connections: a warning with
    /// their count and routes (paths with their capabilities redacted), so a stop that lost work
    /// says so.
    private func logCut(_ report: DrainReport, listener: String, deadline: Duration) {
        guard !report.cut.isEmpty else { return }
        logger.warning("requests cut at the drain deadline", metadata: [
            "listener": .string(listener),
            "count": .stringConvertible(report.cut.count),
            "drain_seconds": .stringConvertible(deadline.components.seconds),
            "requests": .array(report.cut.map { line in
                // "METHOD /path": the path may hold a capability (/connect/…, /callbacks/delegated/…).
                guard let space = line.firstIndex(of: " ") else { return .string(line) }
                return .string(line[..<space] + " " + SecretRedaction.redactRequestTarget(String(line[line.index(after: space)...])))
            }),
        ])
    }

    /// `WATCHDOG=1` every `interval` while the event loops and the database answer: a wedged loop
    /// or a stuck database stops the pings, and systemd restarts ecd after `WatchdogSec`.
    private func keepWatchdogFed(every interval: Duration) async {
        while !Task.isCancelled {
            await publicServer.loopsAnswer()
            await internalServer.loopsAnswer()
            // PostgreSQL is shared and may be away while this node still serves cached tokens:
            // a restart would not bring it back, so only a local SQLite file counts here.
            let databaseAnswers = await database.asyncMap { database in
                (try? await database.asyncRead { connection in try connection.queryOne("SELECT 1") != nil }) ?? false
            } ?? true
            if databaseAnswers { notifier.notify("WATCHDOG=1") }
            try? await Task.sleep(for: interval)
        }
    }

    /// SIGHUP: the keyring as a restart would read it, taken only if it opens every stored secret
    /// (else the daemon keeps its keyring and says why).
    func reloadKeyring() async {
        guard let keyringSource else {
            logger.notice("SIGHUP: the keyring was not read from a configuration; it stays as it is")
            return
        }
        do {
            let keyring = try keyringSource()
            try await core.replaceKeyring(keyring)
            logger.notice("encryption keyring reloaded", metadata: [
                "key_ids": .array(keyring.keyIDs.map { .string($0) }),
                "primary_key_id": .string(keyring.primaryKeyID),
            ])
        } catch {
            logger.error("encryption keyring not reloaded; the previous keyring stays in use",
                         metadata: ["error": .string("\(error)")])
        }
    }

    private func reloadAPIKeys() {
        guard apiKeys.file != nil else {
            logger.notice("SIGHUP: the API keys are not read from internal.api_keys_file; they stay as they are")
            return
        }
        if let file = apiKeys.file, let credentials = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"],
           !credentials.isEmpty, file.hasPrefix(credentials.hasSuffix("/") ? credentials : credentials + "/") {
            // systemd copies LoadCredential= files when the unit starts and never again: this
            // rereads that copy, so an edit of the source file takes a restart to arrive.
            logger.warning("internal.api_keys_file is a systemd credential copied at start; SIGHUP cannot see a new key: restart the unit to rotate keys",
                           metadata: ["file": .string(file)])
        }
        do {
            let count = try apiKeys.reload()
            logger.notice("API keys reloaded", metadata: ["keys": .stringConvertible(count)])
        } catch {
            logger.error("API keys not reloaded; the previous keys stay valid", metadata: ["error": .string(error.description)])
        }
    }
}

/// Why the application could not be built or started. Messages name settings, never secrets.
public enum ApplicationError: Error, Sendable, CustomStringConvertible, Equatable {
    case missingSetting(String)
    case alreadyStarted
    /// A listener could not bind; `key` names its setting, so the operator knows which to change.
    case cannotListen(key: String, HTTPServerError)
    /// The keyring cannot open secrets the database holds.
    case keyringRefused(KeyringRefusal)
    /// The audit log cannot be opened (`audit.path`).
    case audit(String)
    /// The storage could not be prepared (PostgreSQL unreachable or its migration failed);
    /// the message holds no password.
    case storage(String)

    public var description: String {
        switch self {
        case .missingSetting(let key): "\(key) is required to serve"
        case .alreadyStarted: "the application was already started"
        case .cannotListen(let key, let error): "\(key) \(Self.listenFailure(error))"
        case .keyringRefused(let refusal): "storage.encryption_keys: \(refusal)"
        case .audit(let reason): reason
        case .storage(let reason): reason
        }
    }

    /// `127.0.0.1:8080: address in use`: the address and the reason in words, errno last.
    private static func listenFailure(_ error: HTTPServerError) -> String {
        guard case .system(let call, let code, let address) = error else { return "\(error)" }
        switch code {
        case EADDRINUSE: return "\(address): address in use (another process listens there; pick another port or stop it)"
        case EACCES where address.hasPrefix("unix:"): return "\(address): permission denied (the socket's folder is not writable)"
        case EACCES: return "\(address): permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)"
        case EADDRNOTAVAIL: return "\(address): address not available (no interface of this host has it)"
        default: return "\(address): \(call) failed: \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}

private extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async -> T) async -> T? {
        guard let value = self else { return nil }
        return await transform(value)
    }
}
