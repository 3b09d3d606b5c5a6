import ECDSimulator
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp

/// The keyring check at start on PostgreSQL (issue 16 item 3), as SQLite has it: a node whose
/// keyring lacks a key the shared database still seals secrets with refuses to start, naming the
/// key and the count, and never joins the cluster to fail every callback and refresh of those rows.
@Suite("ecd serve on PostgreSQL refuses a keyring that lacks a key in use")
struct PostgresKeyringCheckTests {
    @Test func aNodeWithoutTheKeyInUseDoesNotStart() async throws {
        let server = try AppTestPostgres.server.get()
        let database = try server.makeDatabase()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let simulator = try CronofySimulator.startedForTests()
        let postgres = ["ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL": server.url(database: database),
                        "ECD_AUDIT_PATH": folder.url.appendingPathComponent("audit.log").path]
        // k1 (DaemonEnvironment's keyring) seals the service account's tokens.
        let node = try await ServeProcess.start(folder: folder, database: "-", simulator: simulator, extra: postgres,
                                                without: ["ECD_STORAGE_PATH"])
        try await node.connectServiceAccount()
        #expect(await node.stop() == 0)

        var environment = DaemonEnvironment.make(folder, extra: postgres.merging([
            "ECD_CRONOFY_API_URL": simulator.baseURL.absoluteString,
            "ECD_STORAGE_ENCRYPTION_KEYS": #"[{"id":"k2","key":"\#(Data(repeating: 7, count: 32).base64EncodedString())"}]"#,
        ]) { $1 })
        environment["ECD_STORAGE_PATH"] = nil
        let refused = try await ECDBinary.run(["serve"], environment: environment, limit: .seconds(30))
        #expect(refused.code == 1)
        #expect(refused.stderr.contains("storage.encryption_keys: the keyring lacks key id k1 (2 secrets)"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("\"msg\":\"listening\""))
        await simulator.shutdown()
    }
}
