import ECDTestSupport
import Foundation
import Testing
@testable import ECDCore

/// Issue 13 item 2: `/readyz` (the core's `readiness()`) does not commit a write per call.
@Suite("storage health without a commit per probe", .serialized)
struct StorageHealthTests {
    @Test func aRecentCommitVouchesForWritesSoProbesCommitNothing() async throws {
        let harness = try Harness()
        let storage = try #require(harness.core.storage as? SQLiteStorage)
        _ = try await harness.core.createConnectLink(label: nil, scope: nil, delegatedScope: nil)
        for _ in 0..<50 { #expect(await harness.core.readiness().isEmpty) }
        #expect(storage.probeCommits.withLock { $0 } == 0)
        await harness.stop()
    }

    @Test func anIdleDaemonCommitsOneProbePerWindowNotOnePerCall() async throws {
        let harness = try Harness()
        let storage = try #require(harness.core.storage as? SQLiteStorage)
        let started = ContinuousClock.now
        for _ in 0..<50 { #expect(await harness.core.readiness().isEmpty) }
        // Fifty probes well inside one window (the probe itself is the only write here).
        try #require(ContinuousClock.now - started < SQLiteStorage.commitVouches)
        #expect(storage.probeCommits.withLock { $0 } == 1)
        await harness.stop()
    }
}
