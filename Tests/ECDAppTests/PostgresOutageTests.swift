import ECDSimulator
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp

/// A node while its PostgreSQL is away (issue 16 item 3): tokens it has cached and that are still
/// valid are served, a write is `503 storage_unavailable` with `Retry-After` and changes nothing,
/// `/readyz` is 503; when the server is back the node takes writes again, without a restart.
/// The real `ecd serve` against a PostgreSQL of the test's own (this test stops it).
@Suite("ecd serve through a PostgreSQL outage")
struct PostgresOutageTests {
    @Test func aNodeRidesOutAPostgresOutage() async throws {
        let server = try PostgresTestServer.start()
        defer { server.destroy() }
        let name = try server.makeDatabase()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let simulator = try CronofySimulator.startedForTests()
        let node = try await ServeProcess.start(
            folder: folder, database: folder.url.appendingPathComponent("db/ecd.sqlite").path, simulator: simulator,
            extra: ["ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL": server.url(database: name),
                    "ECD_AUDIT_PATH": folder.url.appendingPathComponent("audit.log").path],
            without: ["ECD_STORAGE_PATH"])
        #expect(await eventually { (try? await node.internalAPI("GET", "/readyz", json: nil).status) == 200 })
        try await node.connectServiceAccount()
        #expect(try await node.requestAndSettle(["ann@example.com"])["ann@example.com"] == "active")
        let before = try await node.internalAPI("GET", "/v1/accounts/ann@example.com/token", json: nil)
        #expect(before.status == 200, "\(before.text)")

        server.stop()
        let cached = try await node.internalAPI("GET", "/v1/accounts/ann@example.com/token", json: nil)
        #expect(cached.status == 200, "\(cached.text)")
        #expect(cached.json["access_token"] as? String == before.json["access_token"] as? String)
        let write = try await node.internalAPI("POST", "/v1/accounts", json: #"{"accounts":[{"email":"bob@example.com"}]}"#)
        #expect(write.status == 503, "\(write.text)")
        #expect(write.errorCode == "storage_unavailable", "\(write.text)")
        #expect(write.header("Retry-After") == "5")
        #expect(await eventually { (try? await node.internalAPI("GET", "/readyz", json: nil).status) == 503 })

        try server.start()
        #expect(await eventually(timeout: .seconds(30)) {
            (try? await node.internalAPI("GET", "/readyz", json: nil).status) == 200
        })
        let again = try await node.internalAPI("POST", "/v1/accounts", json: #"{"accounts":[{"email":"bob@example.com"}]}"#)
        #expect(again.status == 202, "\(again.text)")
        #expect(try await node.settle(["bob@example.com"])["bob@example.com"] == "active")
        #expect(await node.stop() == 0)
        await simulator.shutdown()
    }
}
