import ECDCore
import ECDCronofy
import ECDCrypto
import ECDHTTP
import ECDPostgres
import ECDSimulator
import ECDSQLite
import ECDSync
import ECDTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging

/// The facade behind a real public HTTP server (for Cronofy's callbacks) and a real simulator,
/// each on port 0. The server starts first, so the facade is built with its real base URL.
final class Harness: Sendable {
    let simulator: CronofySimulator
    let server: HTTPServer
    let directory: URL
    let keyring: Keyring
    let logs = CapturedLogs()
    let baseURL: URL
    let cronofy: CronofyClient
    let configuration: CoreConfiguration
    /// SQLite or a PostgreSQL database of this harness's own (`StorageFixture`).
    let storage: StorageFixture
    var driver: StorageDriver { storage.driver }
    private let otherPools = Locked<[PostgresPool]>([])
    private let current = Locked<(core: EnterpriseConnect?, database: Database?, pool: PostgresPool?)>((nil, nil, nil))
    /// Webhook deliveries received at `/webhook`: (body, ECD-Signature); the first
    /// `webhookFailuresLeft` are answered 500.
    let webhooks = Locked<[(body: [UInt8], signature: String?)]>([])
    let webhookFailuresLeft = Locked<Int>(0)
    /// Code and state of the last `/oauth/callback` redirect the server saw.
    let lastRedirect = Locked<[String: String]>([:])

    var core: EnterpriseConnect { current.withLock { $0.core! } }
    /// The SQLite database (tests that read or write rows themselves run on SQLite only).
    var database: Database { current.withLock { $0.database! } }
    /// The PostgreSQL pool of the open facade (`driver == .postgres`).
    var pool: PostgresPool { current.withLock { $0.pool! } }

    /// `cronofyTimeout` bounds each call to the simulator: 3 s lets the timeout tests (a `.slow`
    /// fault of 3.5 s) run quickly; a test about something else that a loaded machine could push
    /// past it (a failed refresh backs off, and the test then waits for nothing) passes more.
    init(driver: StorageDriver = .sqlite, simulator simulatorConfiguration: SimulatorConfiguration = SimulatorConfiguration(),
         keyring: Keyring? = nil, cronofyTimeout: Duration = .seconds(3),
         tune: (inout CoreConfiguration) -> Void = { _ in }) throws {
        var simulatorConfiguration = simulatorConfiguration
        simulatorConfiguration.listen = .tcp(host: "127.0.0.1", port: 0)
        simulatorConfiguration.autoApprove = true
        simulator = CronofySimulator(configuration: simulatorConfiguration)
        try simulator.start()

        storage = try StorageFixture(driver)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ecd-core-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.keyring = try keyring ?? Keyring(keys: [.init(id: "k1", bytes: try SecureRandom.bytes(32))])

        let box = current
        let redirect = lastRedirect
        var router = Router()
        router.postAsync("/callbacks/delegated/{request}") { request, context in
            guard let core = box.withLock({ $0.core }) else { return .text(.serviceUnavailable, "starting") }
            do {
                try await core.receiveDelegatedCallback(requestID: context.parameters["request"] ?? "", body: request.body,
                                                        signatureHeader: request.headers["Cronofy-HMAC-SHA256"])
                return .json(.ok, bytes: Array(#"{"status":"accepted"}"#.utf8))
            } catch CoreError.callbackRejected(let rejection) {
                // ECDApp's mapping of a rejected callback (CoreErrorMapping), which this target cannot import.
                return .json(HTTPStatus(code: callbackStatus(rejection)), bytes: Array(#"{"error":{"code":"\#(rejection.code)"}}"#.utf8))
            }
        }
        router.get("/oauth/callback") { request, _ in
            redirect.withLock { values in
                values = [:]
                for item in request.queryItems { values[item.name] = item.value }
            }
            return .text(.ok, "redirect received")
        }
        let webhooks = self.webhooks, failuresLeft = webhookFailuresLeft
        router.post("/webhook") { request, _ in
            let fail = failuresLeft.withLock { left -> Bool in
                if left > 0 { left -= 1; return true }
                return false
            }
            if fail { return .text(.internalServerError, "try again") }
            webhooks.withLock { $0.append((request.body, request.headers["ECD-Signature"])) }
            return .text(.ok, "ok")
        }
        server = HTTPServer(configuration: HTTPServerConfiguration(name: "public", listen: .tcp(host: "127.0.0.1", port: 0)),
                            responder: router)
        try server.start()
        baseURL = URL(string: "http://127.0.0.1:\(server.port)")!

        var cronofyConfiguration = CronofyConfiguration(clientID: simulatorConfiguration.clientID,
                                                        clientSecret: simulatorConfiguration.clientSecret,
                                                        apiURL: simulator.baseURL, appURL: simulator.baseURL)
        cronofyConfiguration.requestTimeout = cronofyTimeout
        cronofy = CronofyClient(configuration: cronofyConfiguration, transport: HTTPTransport(), budget: RequestBudget(requestsPerMinute: 60_000),
                                retryPolicy: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200)))
        var configuration = CoreConfiguration(publicBaseURL: baseURL, clientSecret: simulatorConfiguration.clientSecret)
        configuration.sweepInterval = .milliseconds(200)
        tune(&configuration)
        self.configuration = configuration
        try open()
    }

    var databasePath: String { directory.appendingPathComponent("ecd.sqlite").path }

    /// Opens the database and a new facade on it (as a restarted daemon would), optionally with
    /// changed settings.
    @discardableResult
    func open(keyring: Keyring? = nil, configuration: CoreConfiguration? = nil) throws -> EnterpriseConnect {
        let logger = logs.logger(label: "ecd.core.test")
        if let pool = try storage.postgresPool() {
            let core = EnterpriseConnect(configuration: configuration ?? self.configuration, database: .postgres(pool),
                                         keyring: keyring ?? self.keyring, cronofyClient: cronofy, logger: logger)
            current.withLock { $0 = (core, nil, pool) }
            return core
        }
        let database = try Database(path: databasePath)
        try CoreSchema.migrate(database)   // as `serve` does at every start
        let core = EnterpriseConnect(configuration: configuration ?? self.configuration, database: .sqlite(database),
                                     keyring: keyring ?? self.keyring, cronofyClient: cronofy, logger: logger)
        current.withLock { $0 = (core, database, nil) }
        return core
    }

    /// A second facade on the same data, as another process (SQLite: on the same database;
    /// PostgreSQL: a pool of its own, as another node). The caller shuts it down; its pool
    /// closes with the harness.
    func openAnother(label: String = "ecd.core.test.other") throws -> EnterpriseConnect {
        let logger = Logger(label: label)
        if let pool = try storage.postgresPool() {
            otherPools.withLock { $0.append(pool) }
            return EnterpriseConnect(configuration: configuration, database: .postgres(pool), keyring: keyring,
                                     cronofyClient: cronofy, logger: logger)
        }
        return EnterpriseConnect(configuration: configuration, database: .sqlite(database), keyring: keyring,
                                 cronofyClient: cronofy, logger: logger)
    }

    /// Runs one statement while the facade is closed (what a dead process left, or a hand edit),
    /// on a connection of its own; SQL as for `execute`.
    func executeWhileClosed(_ sql: String, _ arguments: [TestArgument] = []) async throws {
        if let pool = try storage.postgresPool() {
            defer { pool.close() }
            let numbered = Self.numbered(sql)
            try await pool.asyncWrite { _ = try $0.execute(numbered, arguments.map { $0 as any PostgresValueConvertible }) }
            return
        }
        let database = try Database(path: databasePath)
        defer { database.close() }
        try await database.asyncWrite { try $0.execute(sql, arguments.map { $0 as any SQLValueConvertible }) }
    }

    /// Stops the facade and closes the database, as a daemon shutting down (or dying) would.
    func close() async {
        let (core, database, pool) = current.withLock { value in
            let old = value
            value = (nil, nil, nil)
            return old
        }
        await core?.shutdown()
        database?.close()
        pool?.close()
        for other in otherPools.withLock({ pools in defer { pools = [] }; return pools }) { other.close() }
    }

    func stop() async {
        await close()
        // Let the simulator finish its callback deliveries first: cancelling a task that awaits
        // URLSession can deadlock FoundationNetworking on Linux, and the simulator's shutdown
        // cancels whatever delivery is still in flight.
        let recorded = simulator.control.callbacks().count
        _ = await simulator.control.waitForCallbacks(count: recorded, timeout: .seconds(5))
        await simulator.shutdown()
        await server.shutdown(deadline: .seconds(1))
        try? FileManager.default.removeItem(at: directory)
        storage.destroy()
    }

    // MARK: Flows

    /// Connect link → beginConnect → the simulator's authorize page (auto-approved) → the redirect
    /// our server records → completeConnect with the cookie.
    func connectServiceAccount(label: String? = nil, delegatedScope: String? = nil) async throws -> ServiceAccount {
        let (code, state, cookie) = try await authorizeAtSimulator(label: label, delegatedScope: delegatedScope)
        return try await core.completeConnect(code: code, state: state, error: nil, cookieState: cookie)
    }

    func authorizeAtSimulator(label: String? = nil, delegatedScope: String? = nil) async throws -> (String?, String?, String) {
        let link = try await core.createConnectLink(label: label, scope: nil, delegatedScope: delegatedScope)
        let token = String(link.url.split(separator: "/").last!)
        let redirect = try await core.beginConnect(link: token)
        lastRedirect.withLock { $0 = [:] }
        let (_, response) = try await URLSession.shared.data(from: redirect.authorizeURL)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw HarnessError.unexpected("authorize") }
        let values = lastRedirect.withLock { $0 }
        return (values["code"], values["state"], redirect.stateCookieValue)
    }

    func waitForStatus(_ email: String, _ status: AccountStatus, timeout: Duration = .seconds(10)) async throws -> Account {
        _ = try await eventually(timeout: timeout) { try await core.account(email: email).status == status }
        return try await core.account(email: email)
    }

    /// Every event so far.
    func allEvents() async throws -> [Event] {
        try await core.events(after: nil, limit: 1000).events
    }

    /// The database file and its WAL, as raw bytes.
    func databaseBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        for suffix in ["", "-wal", "-shm"] {
            if let data = FileManager.default.contents(atPath: databasePath + suffix) { bytes += data }
        }
        return bytes
    }
}

enum HarnessError: Error { case unexpected(String) }

extension Array where Element == UInt8 {
    func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        let first = needle[0]
        var index = 0
        while index <= count - needle.count {
            if self[index] == first, Array(self[index..<(index + needle.count)]) == needle { return true }
            index += 1
        }
        return false
    }
}

/// ECDApp's status for a refused callback (`CoreErrorMapping.status(of:)`, checked for every case
/// in RoutesUnitTests), which the core's tests cannot import.
func callbackStatus(_ rejection: CallbackRejection) -> Int {
    switch rejection {
    case .malformed, .stateMismatch, .stateRequired: return 400
    case .invalidSignature: return 401
    case .unknownRequest: return 404
    }
}
