import ECDTestSupport
import Foundation
import Testing
@testable import ECDCore

/// Issue 13 item 2: `/readyz` (the core's `readiness()`) does not commit a write per call.
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
}
