import ECDSimulator
import ECDSQLite
import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// Issue 12 item 3: one daemon per SQLite database. A second `ecd serve` or `ecd migrate` on a
/// database a running daemon holds exits 1 at once, naming the holder's pid; the lock dies with
/// its holder, even on SIGKILL, and the next daemon clears the refresh leases the dead one left.
/// (Refresh leases between processes sharing a database are tested at the core level, in
/// ECDCoreTests' `LeaseTests`: with SQLite two daemons no longer share one.)
@Suite("one daemon per database", .serialized)
struct OneDaemonPerDatabaseTests {
    static let leaseBusy = #"ecd_token_refreshes_total{outcome="lease_busy"}"#

    @Test("a second serve or migrate on a held database exits 1 at once naming the holder's pid")
    func secondProcessIsRefused() async throws {
        let simulator = try CronofySimulator.startedForTests()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let database = folder.url.appendingPathComponent("db/ecd.sqlite").path
        let first = try await ServeProcess.start(folder: folder, database: database, simulator: simulator)
        let expected = "database \(database) is in use by ecd (pid \(first.process.pid))"

        let environment = DaemonEnvironment.make(folder, extra: [
            "ECD_CRONOFY_API_URL": simulator.baseURL.absoluteString,
            "ECD_STORAGE_PATH": database,
        ])
        for command in [["serve"], ["migrate"]] {
            let started = ContinuousClock.now
            let second = try await ECDBinary.run(command, environment: environment, limit: .seconds(30))
            #expect(second.code == 1, "ecd \(command[0]) on a held database: \(second.stderr)")
            #expect(second.stderr.contains(expected), "ecd \(command[0]): \(second.stderr)")
            #expect(!second.stderr.contains("\"msg\":\"listening\""))
            // "At once": no waiting on a busy database; generous for a loaded 2-core machine.
            #expect(ContinuousClock.now - started < .seconds(10))
        }
        // The same database named through a symbolic link to its folder is the same database.
        let link = folder.url.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: folder.url.appendingPathComponent("db").path)
        var linked = environment
        linked["ECD_STORAGE_PATH"] = link + "/ecd.sqlite"
        let viaLink = try await ECDBinary.run(["migrate"], environment: linked, limit: .seconds(30))
        #expect(viaLink.code == 1 && viaLink.stderr.contains("is in use by ecd (pid \(first.process.pid))"), "\(viaLink.stderr)")

        // The first daemon is untouched.
        #expect(try await first.internalAPI("GET", "/readyz", json: nil).status == 200)
        #expect(await first.stop() == 0)
        // Stopped: the database is free again.
        let after = try await ECDBinary.run(["migrate"], environment: environment, limit: .seconds(30))
        #expect(after.code == 0, "\(after.stderr)")
        await simulator.shutdown()
    }

    @Test("after SIGKILL of the holder the next daemon starts and clears the leases the dead one left")
    func lockDiesWithItsHolder() async throws {
        let simulator = try CronofySimulator.startedForTests()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let database = folder.url.appendingPathComponent("db/ecd.sqlite").path
        let first = try await ServeProcess.start(folder: folder, database: database, simulator: simulator)
        let email = "leased@example.com"
        try await first.connectServiceAccount()
        #expect(try await first.requestAndSettle([email])[email] == "active")
        #expect(await first.process.terminate(signal: SIGKILL) != 0)

        // What a daemon killed while refreshing leaves behind: a lease with an hour to run.
        let handle = try Database(path: database)
        try await handle.asyncWrite { connection in
            try connection.execute("UPDATE accounts SET lease_owner = 'killed-process', lease_until = ?",
                                   [Date().addingTimeInterval(3600)])
        }
        handle.close()

        let second = try await ServeProcess.start(folder: folder, database: database, simulator: simulator)
        #expect(second.process.standardError().contains("refresh leases of a previous process cleared"))
        let refreshed = try await second.internalAPI("POST", "/v1/accounts/\(email)/refresh", json: nil)
        #expect(refreshed.status == 200, "\(refreshed.text)")
        #expect(try await second.metric(Self.leaseBusy) == 0)
        #expect(await second.stop() == 0)
        await simulator.shutdown()
    }
}
