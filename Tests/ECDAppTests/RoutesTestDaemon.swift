import ECDCore
import ECDHTTP
import ECDSimulator
import ECDTestSupport
import Foundation
import Logging
@testable import ECDApp

/// A simulator and a daemon on loopback ports with a temporary database, as `buildApplication`
/// makes it for production; tests talk to both over real sockets.
final class TestDaemon: Sendable {
    static let apiKey = "test-key-one-0123456789abcdefghijklm"
    static let secondAPIKey = "test-key-two-9876543210zyxwvutsrqpon"

    let simulator: CronofySimulator
    let application: Application
    let folder: URL
    let publicPort: Int
    let internalEndpoint: SocketAddress
    let logs: CapturedLogs

    private init(simulator: CronofySimulator, application: Application, folder: URL, publicPort: Int,
                 internalEndpoint: SocketAddress, logs: CapturedLogs) {
        self.simulator = simulator
        self.application = application
        self.folder = folder
        self.publicPort = publicPort
        self.internalEndpoint = internalEndpoint
        self.logs = logs
    }

    static func start(
        baseURLScheme: String = "http",
        unixSocket: Bool = false,
        simulator tuneSimulator: (inout SimulatorConfiguration) -> Void = { _ in },
        configure: (inout AppConfiguration) -> Void = { _ in },
        tuneCore: @escaping @Sendable (inout CoreConfiguration) -> Void = { _ in },
        limits tuneLimits: @escaping @Sendable (inout HTTPLimits) -> Void = { _ in }
    ) async throws -> TestDaemon {
        // The core's swift-metrics counters reach GET /metrics only once bootstrapped (as `serve` does).
        ECDMetrics.bootstrap()
        let simulator = try CronofySimulator.startedForTests(tuneSimulator)
        let simulatorConfiguration = simulator.configuration

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ecd-routes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let socketPath = folder.appendingPathComponent("internal.sock").path
        let logs = CapturedLogs()
        // An https base_url only changes what the daemon believes about itself (Secure
        // cookies); the listener stays plain HTTP on loopback, as behind a TLS proxy. Port 0:
        // the base URL is made from the port really bound.
        let host = baseURLScheme == "https" ? "localhost" : "127.0.0.1"
        var configuration = AppConfiguration(
            cronofy: CronofySettings(clientID: simulatorConfiguration.clientID, clientSecret: simulatorConfiguration.clientSecret,
                                     apiURL: simulator.baseURL, appURL: simulator.baseURL),
            publicListener: PublicListenerSettings(listen: .tcp(host: "127.0.0.1", port: 0), baseURL: nil),
            internalListener: InternalListenerSettings(
                listen: unixSocket ? .unix(path: socketPath) : .tcp(host: "127.0.0.1", port: 0),
                apiKeys: APIKeyStore(keys: [apiKey, secondAPIKey])),
            storage: StorageSettings(path: folder.appendingPathComponent("ecd.sqlite").path,
                                     encryptionKeys: [EncryptionKeySetting(id: "k1", bytes: Array(repeating: 7, count: 32))]))
        configure(&configuration)
        let application: Application
        do {
            // Building opens and migrates the database: synchronous fsyncs, kept off the
            // cooperative pool that every concurrently running test shares.
            let settings = configuration, logger = logs.logger
            application = try await onOwnThread {
                try buildApplication(configuration: settings, logger: logger, tuneCore: { core in
                    core.sweepInterval = .milliseconds(200)
                    tuneCore(&core)
                }, tuneLimits: tuneLimits, baseURLForPort: { URL(string: "\(baseURLScheme)://\(host):\($0)")! })
            }
        } catch {
            await simulator.shutdown()
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
        do {
            try await application.start()
        } catch {
            await application.shutdown()
            await simulator.shutdown()
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
        let endpoint: SocketAddress = unixSocket ? .unix(path: socketPath) : .tcp(port: application.internalPort)
        return TestDaemon(simulator: simulator, application: application, folder: folder, publicPort: application.publicPort,
                          internalEndpoint: endpoint, logs: logs)
    }

    /// Starts a daemon, runs `body` with it, and stops it (and removes its files) whatever happens.
    static func run(
        baseURLScheme: String = "http",
        unixSocket: Bool = false,
        simulator tuneSimulator: (inout SimulatorConfiguration) -> Void = { _ in },
        configure: (inout AppConfiguration) -> Void = { _ in },
        tuneCore: @escaping @Sendable (inout CoreConfiguration) -> Void = { _ in },
        limits tuneLimits: @escaping @Sendable (inout HTTPLimits) -> Void = { _ in },
        _ body: (TestDaemon) async throws -> Void
    ) async throws {
        let daemon = try await start(baseURLScheme: baseURLScheme, unixSocket: unixSocket, simulator: tuneSimulator,
                                     configure: configure, tuneCore: tuneCore, limits: tuneLimits)
        do {
            try await body(daemon)
        } catch {
            await daemon.stop()
            throw error
        }
        await daemon.stop()
    }

    func stop() async {
        await application.shutdown(deadline: .seconds(2))
        await simulator.shutdown()
        try? FileManager.default.removeItem(at: folder)
    }

    // MARK: Requests

    /// An internal API call with the first API key (or `key`, or none when `key` is "").
    func api(_ method: String, _ target: String, json: String? = nil, key: String = TestDaemon.apiKey,
             headers: [(String, String)] = []) async throws -> RawResponse {
        var all = headers
        if !key.isEmpty { all.append(("Authorization", "Bearer \(key)")) }
        if json != nil { all.append(("Content-Type", "application/json")) }
        return try await RawHTTP.send(internalEndpoint, method, target, headers: all, body: json.map { Array($0.utf8) })
    }

    func publicRequest(_ method: String, _ target: String, headers: [(String, String)] = [],
                       body: [UInt8]? = nil) async throws -> RawResponse {
        try await RawHTTP.send(.tcp(port: publicPort), method, target, headers: headers, body: body)
    }

    func internalAPI(_ method: String, _ target: String, json: String?) async throws -> RawResponse {
        try await api(method, target, json: json)
    }
}

/// What the flow helpers need of a daemon, in-process (`TestDaemon`) or a child `ecd serve`
/// (`ServeProcess`): its internal API with a valid key, and its public listener.
protocol DaemonClient: Sendable {
    func internalAPI(_ method: String, _ target: String, json: String?) async throws -> RawResponse
    func publicRequest(_ method: String, _ target: String, headers: [(String, String)], body: [UInt8]?) async throws -> RawResponse
}

extension TestDaemon: DaemonClient {}

/// The flows every daemon test needs: connect a service account, request accounts and wait.
extension DaemonClient {
    /// A connect link's path (`/connect/…`).
    func connectLinkPath(body: String = "{}") async throws -> String {
        let created = try await internalAPI("POST", "/v1/service-accounts/connect-links", json: body)
        guard created.status == 201, let url = created.json["url"] as? String, let path = URL(string: url)?.path else {
            throw RawHTTP.Failure(description: "connect link: \(created.status) \(created.text)")
        }
        return path
    }

    /// Uses a connect link as the landing page's button does: the `POST` that answers 303 to the
    /// simulator, and the state cookie (`name=value`).
    func openLink(_ path: String) async throws -> (authorize: URL, cookie: String, response: RawResponse) {
        let opened = try await publicRequest("POST", path, headers: [], body: nil)
        guard opened.status == 303, let location = opened.header("Location"), let authorize = URL(string: location),
              let cookie = opened.header("Set-Cookie")?.split(separator: ";").first else {
            throw RawHTTP.Failure(description: "open link: \(opened.status) \(opened.text)")
        }
        return (authorize, String(cookie), opened)
    }

    /// The simulator's approval: the `/oauth/callback?…` target it redirects the browser to.
    func approve(_ authorize: URL, extra: String = "&auto_approve=1") async throws -> String {
        let components = URLComponents(url: authorize, resolvingAgainstBaseURL: false)!
        let target = components.percentEncodedPath + "?" + (components.percentEncodedQuery ?? "") + extra
        let approved = try await RawHTTP.send(.tcp(port: components.port!), "GET", target)
        guard approved.status == 302, let location = approved.header("Location"), let back = URL(string: location) else {
            throw RawHTTP.Failure(description: "approve: \(approved.status) \(approved.text)")
        }
        return back.path + "?" + (back.query ?? "")
    }

    /// Connects a service account end to end and returns its id.
    @discardableResult
    func connectServiceAccount() async throws -> String {
        let (authorize, cookie, _) = try await openLink(try await connectLinkPath())
        let callback = try await approve(authorize)
        let landed = try await publicRequest("GET", callback, headers: [("Cookie", cookie)], body: nil)
        guard landed.status == 200 else { throw RawHTTP.Failure(description: "callback: \(landed.status) \(landed.text)") }
        let list = try await internalAPI("GET", "/v1/service-accounts", json: nil)
        guard let id = (list.json["service_accounts"] as? [[String: Any]])?.last?["id"] as? String else {
            throw RawHTTP.Failure(description: "no service account listed")
        }
        return id
    }

    /// Requests `emails` and waits until none is pending; returns email → status.
    @discardableResult
    func requestAndSettle(_ emails: [String]) async throws -> [String: String] {
        let body = "{\"accounts\":[" + emails.map { "{\"email\":\"\($0)\"}" }.joined(separator: ",") + "]}"
        let requested = try await internalAPI("POST", "/v1/accounts", json: body)
        guard requested.status == 202 else { throw RawHTTP.Failure(description: "request: \(requested.status) \(requested.text)") }
        return try await settle(emails)
    }

    func settle(_ emails: [String], timeout: Duration = .seconds(10)) async throws -> [String: String] {
        let started = ContinuousClock.now
        while true {
            var statuses: [String: String] = [:]
            for email in emails {
                statuses[email] = try await internalAPI("GET", "/v1/accounts/\(email)", json: nil).json["status"] as? String
            }
            if statuses.values.allSatisfy({ $0 != "pending" }) || started.duration(to: .now) > timeout { return statuses }
            try await Task.sleep(for: .milliseconds(30))
        }
    }
}

