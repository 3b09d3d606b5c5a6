import ECDHTTP
import ECDSimulator
import ECDSync
import ECDTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import ECDApp

/// Start, drain and stop.
@Suite(.serialized) struct LifecycleTests {
    static func configuration(baseURL: URL?, storagePath: String) -> AppConfiguration {
        AppConfiguration(
            cronofy: CronofySettings(clientID: "id", clientSecret: "secret"),
            publicListener: PublicListenerSettings(listen: .tcp(host: "127.0.0.1", port: 0), baseURL: baseURL),
            internalListener: InternalListenerSettings(listen: .tcp(host: "127.0.0.1", port: 0), apiKeys: APIKeyStore(keys: [TestDaemon.apiKey])),
            storage: StorageSettings(path: storagePath, encryptionKeys: [EncryptionKeySetting(id: "k1", bytes: Array(repeating: 1, count: 32))]))
    }

    @Test func buildingNeedsABaseURLAndAUsableDatabase() throws {
        let logs = CapturedLogs()
        #expect(throws: ApplicationError.missingSetting("public.base_url")) {
            _ = try buildApplication(configuration: Self.configuration(baseURL: nil, storagePath: "/nonexistent/ecd.sqlite"),
                                     logger: logs.logger)
        }
        #expect(throws: (any Error).self) {
            _ = try buildApplication(configuration: Self.configuration(baseURL: URL(string: "http://127.0.0.1:1")!,
                                                                       storagePath: "/proc/ecd-cannot-live-here/ecd.sqlite"),
                                     logger: logs.logger)
        }
    }

    @Test func aPortInUseFailsTheBuildAndLeavesTheOtherDaemonAlone() async throws {
        try await TestDaemon.run { daemon in
            let folder = daemon.folder.appendingPathComponent("second")
            var configuration = Self.configuration(baseURL: URL(string: "http://127.0.0.1:\(daemon.publicPort)")!,
                                                   storagePath: folder.appendingPathComponent("ecd.sqlite").path)
            configuration.publicListener.listen = .tcp(host: "127.0.0.1", port: daemon.publicPort)
            // Bound before building: the taken port fails the build, naming its setting, and the
            // database is never created.
            let expected = ApplicationError.cannotListen(
                key: "public.listen", .system(call: "bind", errno: EADDRINUSE, address: "127.0.0.1:\(daemon.publicPort)"))
            #expect(throws: expected) { _ = try buildApplication(configuration: configuration, logger: CapturedLogs().logger) }
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("ecd.sqlite").path))
            // The first daemon is untouched.
            let healthz = try await daemon.publicRequest("GET", "/healthz")
            #expect(healthz.status == 200)
        }
    }

    @Test func listenersAreBoundBeforeTheDaemonIsBuiltFromThem() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ecd-bind-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = Self.configuration(baseURL: nil, storagePath: folder.appendingPathComponent("ecd.sqlite").path)
        configuration.publicListener.listen = .tcp(host: "127.0.0.1", port: 0)
        let seen = Locked<Int?>(nil)
        let application = try buildApplication(configuration: configuration, logger: CapturedLogs().logger, tuneCore: { _ in },
                                               baseURLForPort: { port in
                                                   seen.withLock { $0 = port }
                                                   return URL(string: "http://127.0.0.1:\(port)")!
                                               })
        // The base URL was made from the port the kernel picked, which is bound (and refuses a
        // second taker) before start.
        let port = application.publicPort
        #expect(port != 0 && seen.withLock { $0 } == port)
        #expect(throws: HTTPServerError.self) { _ = try BoundListener(.tcp(host: "127.0.0.1", port: port)) }
        try await application.start()
        let page = try await RawHTTP.send(.tcp(port: port), "GET", "/healthz")
        #expect(page.status == 200)
        await application.shutdown()
        // Shut down: the port is free again.
        try BoundListener(.tcp(host: "127.0.0.1", port: port)).close()
    }

    @Test func shutdownLetsAnInFlightRequestFinishThenRefusesConnections() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()
            #expect(try await daemon.requestAndSettle(["h@example.com"])["h@example.com"] == "active")

            daemon.simulator.control.fail(.token, with: .slow(.milliseconds(1500)), times: 1)
            async let inFlight = daemon.api("POST", "/v1/accounts/h@example.com/refresh")
            try await Self.waitUntilTaken(daemon.simulator.control)
            await daemon.application.shutdown(deadline: .seconds(5))
            let answered = try await inFlight
            #expect(answered.status == 200)
            #expect(answered.json["access_token"] is String)
            await #expect(throws: (any Error).self) { try await daemon.api("GET", "/healthz", key: "") }
        }
    }

    @Test func runDrainsOnSIGTERMAndReturns() async throws {
        // The daemon under `run()` is built by hand: `TestDaemon` starts its application itself.
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.listen = .tcp(host: "127.0.0.1", port: 0)
        let simulator = CronofySimulator(configuration: simulatorConfiguration)
        try simulator.start()
        defer { Task { await simulator.shutdown() } }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ecd-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let configuration = AppConfiguration(
            cronofy: CronofySettings(clientID: "sim_client_id", clientSecret: "sim_client_secret",
                                     apiURL: simulator.baseURL, appURL: simulator.baseURL),
            publicListener: PublicListenerSettings(listen: .tcp(host: "127.0.0.1", port: 0), baseURL: nil),
            internalListener: InternalListenerSettings(listen: .tcp(host: "127.0.0.1", port: 0), apiKeys: APIKeyStore(keys: [TestDaemon.apiKey])),
            storage: StorageSettings(path: folder.appendingPathComponent("ecd.sqlite").path,
                                     encryptionKeys: [EncryptionKeySetting(id: "k1", bytes: Array(repeating: 9, count: 32))]))
        let logs = CapturedLogs()
        let application = try buildApplication(configuration: configuration, logger: logs.logger, tuneCore: { _ in },
                                               baseURLForPort: { URL(string: "http://127.0.0.1:\($0)")! })
        let port = application.publicPort, internalPort = application.internalPort
        let running = Task { try await application.run() }
        #expect(try await RawHTTP.send(.tcp(port: internalPort), "GET", "/healthz").status == 200)

        // A request that takes a while (the connect link page is quick; readiness too) — use a
        // slow Cronofy behind a connect completion, which is in flight when the signal arrives.
        simulator.control.fail(.token, with: .slow(.milliseconds(1500)), times: 1)
        let created = try await RawHTTP.send(.tcp(port: internalPort), "POST", "/v1/service-accounts/connect-links",
                                             headers: [("Authorization", "Bearer \(TestDaemon.apiKey)")], body: [])
        let linkPath = try #require((created.json["url"] as? String).flatMap(URL.init(string:))?.path)
        let opened = try await RawHTTP.send(.tcp(port: port), "POST", linkPath)
        let cookie = try #require(opened.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        let authorize = try #require(opened.header("Location").flatMap(URLComponents.init(string:)))
        let approved = try await RawHTTP.send(.tcp(port: authorize.port!), "GET",
                                              authorize.percentEncodedPath + "?" + (authorize.percentEncodedQuery ?? "") + "&auto_approve=1")
        let back = try #require(approved.header("Location").flatMap(URLComponents.init(string:)))
        async let inFlight = RawHTTP.send(.tcp(port: port), "GET", back.percentEncodedPath + "?" + (back.percentEncodedQuery ?? ""),
                                          headers: [("Cookie", cookie)])
        try await Self.waitUntilTaken(simulator.control)
        kill(getpid(), SIGTERM)
        let answered = try await inFlight
        #expect(answered.status == 200)
        try await running.value   // run() returned: the process would exit 0
        #expect(logs.entries.contains { $0.message == "shutting down" && $0.metadata["signal"] == "SIGTERM" })
        await #expect(throws: (any Error).self) { try await RawHTTP.send(.tcp(port: internalPort), "GET", "/healthz") }
    }

    /// Waits until the daemon's request has reached the simulator and taken the slow fault, i.e.
    /// is in flight for the fault's 1.5 s. A fixed sleep instead would race a loaded machine: the
    /// shutdown could come before the request, which would then be refused, not drained.
    static func waitUntilTaken(_ control: SimulatorControl) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !control.pendingFaults().isEmpty {
            try #require(ContinuousClock.now < deadline, "the request never reached the simulator")
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
