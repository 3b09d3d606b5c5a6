import ECDSimulator
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// A callback's code exchange on a cluster (issue 16 item 3): the inbox row a node claims is a
/// lease with an expiry, renewed while the exchange runs. Real `ecd serve` nodes on one real
/// PostgreSQL, `storage.postgres.lease_seconds` 2 so a takeover comes within seconds; the
/// simulator holds the exchanges (`.slow`: the code is spent at once, the answer comes late).
@Suite("a callback's exchange when its node dies, on PostgreSQL")
struct ExchangeTakeoverTests {
    static let lease = ["ECD_STORAGE_POSTGRES_LEASE_SECONDS": "2"]

    static func node(_ server: PostgresTestServer, _ database: String, _ folder: TemporaryFolder, _ name: String,
                     _ simulator: CronofySimulator) async throws -> ServeProcess {
        try await ServeProcess.start(
            folder: folder, database: folder.url.appendingPathComponent("db/\(name).sqlite").path, simulator: simulator,
            extra: lease.merging(["ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL": server.url(database: database),
                                  "ECD_AUDIT_PATH": folder.url.appendingPathComponent("\(name)-audit.log").path]) { $1 },
            without: ["ECD_STORAGE_PATH"])
    }

    /// Node A takes three callbacks and is killed with SIGKILL while Cronofy (the simulator) holds
    /// their exchanges, which have spent the codes. Node B, started after A claimed them, takes
    /// the rows over once A's leases ran out, gets `invalid_grant` for the spent codes and asks
    /// Cronofy again: every acknowledged callback ends `active`. With the old two-minute claim
    /// (no lease renewal, no lease setting) B waits 120 s and the 40 s settle fails.
    @Test func aSecondNodeFinishesWhatADeadNodeWasExchanging() async throws {
        let server = try AppTestPostgres.server.get()
        let database = try server.makeDatabase()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let simulator = try CronofySimulator.startedForTests()
        let first = try await Self.node(server, database, folder, "a", simulator)
        try await first.connectServiceAccount()
        let emails = ["ann@example.com", "bob@example.com", "cyd@example.com"]
        simulator.control.fail(.token, with: .slow(.seconds(60)), times: emails.count)
        let body = "{\"accounts\":[" + emails.map { "{\"email\":\"\($0)\"}" }.joined(separator: ",") + "]}"
        let requested = try await first.internalAPI("POST", "/v1/accounts", json: body)
        #expect(requested.status == 202, "\(requested.text)")
        // Every exchange is in flight at Cronofy: the faults are taken as the calls arrive.
        #expect(await eventually(timeout: .seconds(20)) { simulator.control.pendingFaults().isEmpty }, "\(first.process.standardError())")
        let acknowledged = await simulator.control.waitForCallbacks(count: emails.count)
        #expect(acknowledged.filter(\.delivered).count == emails.count)

        let second = try await Self.node(server, database, folder, "b", simulator)
        #expect(await first.process.terminate(signal: SIGKILL) != 0)
        let statuses = try await second.settle(emails, timeout: .seconds(40))
        #expect(statuses == Dictionary(uniqueKeysWithValues: emails.map { ($0, "active") }), "\(statuses)")
        for email in emails {
            let token = try await second.internalAPI("GET", "/v1/accounts/\(email)/token", json: nil)
            #expect(token.status == 200, "\(email): \(token.text)")
        }
        #expect(second.process.standardError().contains("spent code recovered by a new request"))
        #expect(await second.stop() == 0)
        await simulator.shutdown()
    }

    /// A live node whose exchange takes longer than the lease keeps it (renewed every third of
    /// the lease): the other node never claims the row, so the code is exchanged once and nothing
    /// is asked again. Without the renewal the other node takes the row over after 2 s, spends a
    /// second exchange on the used code and re-requests the account (more token calls).
    @Test func aLiveNodeKeepsASlowExchange() async throws {
        let server = try AppTestPostgres.server.get()
        let database = try server.makeDatabase()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let simulator = try CronofySimulator.startedForTests()
        let first = try await Self.node(server, database, folder, "a", simulator)
        let second = try await Self.node(server, database, folder, "b", simulator)
        try await first.connectServiceAccount()
        let before = simulator.control.calls(.token).count
        simulator.control.fail(.token, with: .slow(.seconds(5)), times: 1)
        let statuses = try await first.requestAndSettle(["dee@example.com"])
        #expect(statuses["dee@example.com"] == "active", "\(statuses)")
        #expect(simulator.control.calls(.token).count - before == 1)
        for node in [first, second] {
            #expect(!node.process.standardError().contains("spent code recovered"))
        }
        #expect(await first.stop() == 0)
        #expect(await second.stop() == 0)
        await simulator.shutdown()
    }
}
