import Dispatch
import ECDSync
import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// The audit log at shutdown: `close()` syncs every line, even one whose sync the flusher has
/// started, and the flusher never syncs a descriptor `close()` has closed (its number may by then
/// name another file).
@Suite("The audit log's shutdown")
struct AuditShutdownTests {
    /// Each sync: whether its descriptor was open when the sync ran. The first sync (the
    /// flusher's, when the test calls no flush itself) can be held on a gate.
    final class Syncs: Sendable {
        let calls = Locked<[Bool]>([])
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        let left = DispatchSemaphore(value: 0)
        let holdFirst: Bool
        private let started = Locked(0)
        init(holdFirst: Bool) { self.holdFirst = holdFirst }

        func sync(_ descriptor: Int32) -> Int32 {
            let first = started.withLock { $0 += 1; return $0 == 1 }
            if first && holdFirst {
                entered.signal()
                gate.wait()
            }
            calls.withLock { $0.append(fcntl(descriptor, F_GETFD) >= 0) }
            if first { left.signal() }
            return 0
        }
    }

    static let entry = AuditEntry(action: "account.refresh", key: "#1", target: "a@example.com", status: 200,
                                  requestID: "x", client: "unix")

    @Test("close syncs even when nothing was written since the last sync")
    func closeAlwaysSyncs() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let syncs = Syncs(holdFirst: false)
        let log = try AuditLog(path: folder.url.appendingPathComponent("audit.log").path,
                               flushInterval: .seconds(3600), sync: { syncs.sync($0) })
        try log.record([Self.entry])
        log.flush()
        #expect(syncs.calls.withLock { $0.count } == 1)
        log.close()
        #expect(syncs.calls.withLock { $0.count } == 2)
    }

    @Test("a sync the flusher started before close does not stand in for close's, nor touch the closed descriptor")
    func flusherMidSyncAtClose() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let syncs = Syncs(holdFirst: true)
        // A short wait for the flusher's thread: this test holds that thread inside its sync until
        // close has returned, as a sync stuck on a failing disk would.
        let log = try AuditLog(path: folder.url.appendingPathComponent("audit.log").path,
                               flushInterval: .milliseconds(5), closeWait: .milliseconds(50), sync: { syncs.sync($0) })
        try log.record([Self.entry])
        syncs.entered.wait()  // the flusher took the line as synced and is inside its sync
        log.close()
        #expect(syncs.calls.withLock { $0 } == [true], "close synced the line itself, on its open descriptor")
        syncs.gate.signal()
        syncs.left.wait()
        let calls = syncs.calls.withLock { $0 }
        #expect(calls.count == 2)
        #expect(calls == [true, true], "a sync ran on a closed descriptor: \(calls)")
    }
}
