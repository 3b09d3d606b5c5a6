import ECDCore
import ECDHTTP
import ECDSQLite
import Foundation
import Logging

/// The running daemon: the service layer, its database and the two listeners, with an ordered
/// start and shutdown. Made by `buildApplication(configuration:logger:)`.
///
/// Start binds both listeners (so a port in use fails before any background work begins), then
/// starts the core. Shutdown runs the other way: stop accepting and drain in-flight requests up to
/// a deadline, stop the core's background work, close the database.
public final class Application: Sendable {
    let core: EnterpriseConnect
    let database: Database
    let publicServer: HTTPServer
    let internalServer: HTTPServer
    let logger: Logger
    /// Reloaded on SIGHUP by `run()` when the keys come from a file.
    let apiKeys: APIKeyStore
    private let phase = LockedValue(Phase.built)

    private enum Phase: Sendable { case built, starting, running, stopping, stopped }

    /// How long `run()` lets in-flight requests finish after SIGTERM/SIGINT.
    public let drainDeadline: Duration

    init(core: EnterpriseConnect, database: Database, publicServer: HTTPServer, internalServer: HTTPServer,
         apiKeys: APIKeyStore, logger: Logger, drainDeadline: Duration = .seconds(10)) {
        self.core = core
        self.database = database
        self.publicServer = publicServer
        self.internalServer = internalServer
        self.apiKeys = apiKeys
        self.logger = logger
        self.drainDeadline = drainDeadline
    }

    /// The public listener's port (the real one after binding port 0; 0 before `start()`).
    public var publicPort: Int { publicServer.port }

    /// The internal listener's address as bound (`127.0.0.1:PORT` or `unix:PATH`).
    public var internalAddress: ListenAddress { internalServer.boundAddress }

    /// The internal listener's port, or 0 on a unix socket.
    public var internalPort: Int { internalServer.port }

    /// Binds both listeners and starts the core's background work. Throws (leaving nothing bound)
    /// when a listener cannot bind.
    public func start() async throws {
        let mayStart = phase.withValue { phase -> Bool in
            guard phase == .built else { return false }
            phase = .starting
            return true
        }
        guard mayStart else { throw ApplicationError.alreadyStarted }
        do {
            try internalServer.start()
        } catch {
            phase.withValue { $0 = .built }
            throw error
        }
        do {
            try publicServer.start()
        } catch {
            await internalServer.shutdown(deadline: .zero)
            phase.withValue { $0 = .built }
            throw error
        }
        core.start()
        phase.withValue { $0 = .running }
        logger.info("listening", metadata: [
            "public": .string(publicServer.boundAddress.description),
            "internal": .string(internalServer.boundAddress.description),
        ])
    }

    /// Starts, then serves until SIGTERM or SIGINT; then drains and stops, and returns (so the
    /// process can exit 0). SIGHUP rereads `internal.api_keys_file` when the keys come from one.
    public func run() async throws {
        let signals = SignalListener(signals: [SIGTERM, SIGINT, SIGHUP])
        defer { signals.cancel() }
        try await start()
        while true {
            let received = await signals.next()
            if received == SIGHUP {
                reloadAPIKeys()
                continue
            }
            logger.notice("shutting down", metadata: ["signal": .string(received == SIGTERM ? "SIGTERM" : "SIGINT")])
            break
        }
        await shutdown()
        logger.notice("stopped")
    }

    /// Stops accepting, lets in-flight requests finish (up to `deadline`), stops the core, closes
    /// the database. Safe to call more than once and from any state.
    public func shutdown(deadline: Duration? = nil) async {
        let wasRunning = phase.withValue { phase -> Bool? in
            switch phase {
            case .stopping, .stopped: return nil
            case .built: phase = .stopping; return false
            case .starting, .running: phase = .stopping; return true
            }
        }
        guard let wasRunning else { return }
        if wasRunning {
            let deadline = deadline ?? drainDeadline
            async let publicDrained: Void = publicServer.shutdown(deadline: deadline)
            async let internalDrained: Void = internalServer.shutdown(deadline: deadline)
            _ = await (publicDrained, internalDrained)
            await core.shutdown()
        }
        database.close()
        phase.withValue { $0 = .stopped }
    }

    private func reloadAPIKeys() {
        guard apiKeys.file != nil else {
            logger.notice("SIGHUP ignored: the API keys are not read from internal.api_keys_file")
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

    public var description: String {
        switch self {
        case .missingSetting(let key): "\(key) is required to serve"
        case .alreadyStarted: "the application was already started"
        }
    }
}
