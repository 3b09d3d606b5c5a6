import ECDTestSupport
import Foundation
import Testing
@testable import ECDCore
import ECDPostgres

/// Issue 13 item 2: `/readyz` (the core's `readiness()`) does not commit a write per call. The
/// probe-commit tests are SQLite's by nature (its evidence of writability is a recent commit);
/// PostgreSQL's `health()` never commits (one SELECT), and its tests check what it reads.
@Suite("storage health without a commit per probe", .serialized)
struct StorageHealthTests {
    /// The commit windows that began since `start`, counting the one it fell in.
    static func windows(since start: ContinuousClock.Instant) -> Int {
        1 + Int((ContinuousClock.now - start) / SQLiteStorage.commitVouches)
    }

    @Test func aRecentCommitVouchesForWritesSoProbesCommitNothing() async throws {
        let harness = try Harness()
        let storage = try #require(harness.core.storage as? SQLiteStorage)
        _ = try await harness.core.createConnectLink(label: nil, scope: nil, delegatedScope: nil)
        let started = ContinuousClock.now
        for _ in 0..<50 { #expect(await harness.core.readiness().isEmpty) }
        // None while the commit vouches; on a machine so loaded that the loop outlives it, at most
        // one per window since (a commit per call would be 50).
        #expect(storage.probeCommits.withLock { $0 } <= Self.windows(since: started) - 1)
        await harness.stop()
    }

    @Test func anIdleDaemonCommitsOneProbePerWindowNotOnePerCall() async throws {
        let harness = try Harness()
        let storage = try #require(harness.core.storage as? SQLiteStorage)
        let started = ContinuousClock.now
        for _ in 0..<50 { #expect(await harness.core.readiness().isEmpty) }
        // The probe is the only write here: one, then one per window the loop outlived.
        let probes = storage.probeCommits.withLock { $0 }
        #expect(probes >= 1 && probes <= Self.windows(since: started))
        await harness.stop()
    }

    /// PostgreSQL: a database that takes no writes (here: read-only for new sessions, as a
    /// standby is) is not ready, and neither is a server nobody answers on.
    @Test func postgresHealthSaysWhenTheDatabaseTakesNoWrites() async throws {
        guard case .postgres(let server, let database) = try StorageFixture(.postgres) else { return }
        defer { StorageFixture.postgres(server: server, database: database).destroy() }
        let healthy = PostgresPool(CorePostgresFixture.configuration(server, database: database))
        #expect(await PostgresStorage(pool: healthy).health() == .healthy)
        healthy.close()

        try server.execute("ALTER DATABASE \(database) SET default_transaction_read_only = on")
        let readOnly = PostgresPool(CorePostgresFixture.configuration(server, database: database))
        defer { readOnly.close() }
        #expect(await PostgresStorage(pool: readOnly).health() == .unavailable("the database is read-only"))

        var away = CorePostgresFixture.configuration(server, database: database)
        away.url = "postgresql://ecd@127.0.0.1:1/\(database)"
        let unreachable = PostgresPool(away)
        defer { unreachable.close() }
        guard case .unavailable(let problem) = await PostgresStorage(pool: unreachable).health() else {
            Issue.record("an unreachable server was reported healthy"); return
        }
        #expect(problem.hasPrefix("the database is not reachable"))
    }
}
