import ECDSimulator
import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// README: "refreshes are also safe across processes (a lease column)". Two real `ecd serve`
/// processes on one SQLite database, asked to refresh the same account at the same moment:
/// Cronofy sees one refresh (a second would spend a rotated refresh token, `invalid_grant`), and
/// both answer with the token it produced.
@Suite("The refresh lease across two daemon processes", .serialized)
struct LeaseProcessTests {
    static let leaseBusy = #"ecd_token_refreshes_total{outcome="lease_busy"}"#

    @Test("two processes refreshing one account at once make one refresh and agree on the token")
    func oneRefreshForTwoProcesses() async throws {
        let simulator = try CronofySimulator.startedForTests()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let database = folder.url.appendingPathComponent("db/ecd.sqlite").path

        let first = try await ServeProcess.start(folder: folder, database: database, simulator: simulator)
        let second = try await ServeProcess.startSecondOnSameDatabase(folder: folder, database: database, simulator: simulator)
        let email = "shared@example.com"
        try await first.connectServiceAccount()
        let statuses = try await first.requestAndSettle([email])
        #expect(statuses[email] == "active")
        let old = try await second.internalAPI("GET", "/v1/accounts/\(email)/token", json: nil)
        #expect(old.status == 200)
        let oldToken = try #require(old.json["access_token"] as? String)
        func refreshCalls() -> Int {
            simulator.control.calls(.token).filter { $0.body.contains("refresh_token") }.count
        }
        let refreshesBefore = refreshCalls()

        // Cronofy holds its answer to the next token call (the one refresh) for a few seconds, so
        // that whichever process wins the lease is still refreshing while the other asks.
        simulator.control.fail(.token, with: .slow(.seconds(5)), times: 1)
        let started = ContinuousClock.now
        async let fromFirst = first.internalAPI("POST", "/v1/accounts/\(email)/refresh", json: nil)
        async let fromSecond = second.internalAPI("POST", "/v1/accounts/\(email)/refresh", json: nil)
        // Readiness, not a sleep: one of the two reports that it found the lease taken and is
        // waiting for the other's result.
        var waiting = 0.0
        while ContinuousClock.now - started < .seconds(5) {
            waiting = try await first.metric(Self.leaseBusy) + second.metric(Self.leaseBusy)
            if waiting > 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(waiting == 1, "neither process waited on the other's lease while Cronofy held the refresh")
        let (a, b) = try await (fromFirst, fromSecond)
        #expect(a.status == 200, "\(a.text)")
        #expect(b.status == 200, "\(b.text)")
        let tokenA = try #require(a.json["access_token"] as? String)
        let tokenB = try #require(b.json["access_token"] as? String)
        #expect(tokenA == tokenB)
        #expect(tokenA != oldToken)
        #expect(tokenA == simulator.control.issued().accessTokens.last)
        #expect(refreshCalls() == refreshesBefore + 1)
        // Both processes keep serving that token afterwards.
        for daemon in [first, second] {
            let read = try await daemon.internalAPI("GET", "/v1/accounts/\(email)/token", json: nil)
            #expect(read.json["access_token"] as? String == tokenA)
        }

        #expect(await second.stop() == 0)
        #expect(await first.stop() == 0)
        await simulator.shutdown()
    }
}
