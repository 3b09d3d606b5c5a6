import ECDCore
import ECDSimulator
import ECDSQLite
import ECDTestSupport
import Foundation
import Logging
import Testing
@testable import ECDCore

/// The refresh lease: several processes sharing one database (the PostgreSQL cluster to come)
/// refresh a token once between them. With SQLite, ECDApp lets one daemon hold a database
/// (`soleProcess`), and such a daemon clears the leases a dead predecessor left at start.
@Suite(.serialized) struct LeaseTests {
    static func refreshCalls(_ harness: Harness) -> Int {
        harness.simulator.control.calls(.token).filter { $0.body.contains("refresh_token") }.count
    }

    /// Two facades with their own connections (and so their own lease owners) on one database file,
    /// as two processes would be: Cronofy sees one refresh, and both answer the token it produced.
    /// On PostgreSQL the other facade has a pool of its own: two nodes.
    @Test(arguments: StorageDriver.allCases) func twoProcessesRefreshingOneAccountMakeOneRefresh(driver: StorageDriver) async throws {
        // Cronofy holds the refresh 5 s below: the client must outwait it however loaded the machine.
        let harness = try Harness(driver: driver, cronofyTimeout: .seconds(30))
        let email = "shared@example.com"
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: email, scope: "read_events")])
        _ = try await harness.waitForStatus(email, .active)
        let old = try await harness.core.token(email: email, minValidity: .seconds(60)).value()

        let other = try harness.openAnother()
        let refreshesBefore = Self.refreshCalls(harness)
        let issuedBefore = harness.simulator.control.issued().accessTokens.count
        // Cronofy holds the one refresh: the first facade takes the lease and is still refreshing
        // when the other asks, which it does only once that refresh has reached Cronofy (the
        // simulator issues the token at once and holds only its answer), not after a guessed pause.
        harness.simulator.control.fail(.token, with: .slow(.seconds(5)), times: 1)
        let first = harness.core
        async let a = first.refresh(email: email)
        #expect(await eventually(timeout: .seconds(60)) { harness.simulator.control.issued().accessTokens.count > issuedBefore })
        async let b = other.refresh(email: email)
        let (tokenA, tokenB) = try await (a, b)
        #expect(tokenA.accessToken == tokenB.accessToken)
        #expect(tokenA.accessToken != old.accessToken)
        #expect(tokenA.accessToken == harness.simulator.control.issued().accessTokens.last)
        #expect(Self.refreshCalls(harness) == refreshesBefore + 1)
        await other.shutdown()
        await harness.stop()
    }

    /// A lease an hour from running out, left by a process that died: a facade holding the
    /// database alone clears it at start and refreshes at once; one that may share the database
    /// must respect it (and so does not refresh). SQLite only: a sole process is SQLite's notion
    /// (its DatabaseLock); PostgreSQL nodes share the database and never clear leases at start.
    @Test func soleProcessClearsLeasesOfADeadOne() async throws {
        let harness = try Harness { $0.refreshLeaseDuration = .seconds(3) }
        let email = "stale@example.com"
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        _ = try await harness.core.requestAccounts([AccountRequestEntry(email: email, scope: "read_events")])
        _ = try await harness.waitForStatus(email, .active)
        let old = try await harness.core.token(email: email, minValidity: .seconds(60)).value()
        await harness.close()

        func leaveDeadLease() async throws {
            let database = try Database(path: harness.databasePath)
            try await database.asyncWrite {
                try $0.execute("UPDATE accounts SET lease_owner = 'dead-process', lease_until = ?", [Date().addingTimeInterval(3600)])
            }
            database.close()
        }
        try await leaveDeadLease()
        try harness.open()
        let unchanged = Self.refreshCalls(harness)
        // It waits the lease out (bounded), then answers the old token or an error: no refresh.
        let respected = try? await harness.core.refresh(email: email)
        #expect(respected == nil || respected?.accessToken == old.accessToken)
        #expect(Self.refreshCalls(harness) == unchanged)
        await harness.close()

        try await leaveDeadLease()
        var sole = harness.configuration
        sole.soleProcess = true
        try harness.open(configuration: sole)
        let before = Self.refreshCalls(harness)
        let token = try await harness.core.refresh(email: email)
        #expect(token.accessToken != old.accessToken)
        #expect(Self.refreshCalls(harness) == before + 1)
        #expect(harness.logs.text.contains("refresh leases of a previous process cleared"))
        await harness.stop()
    }
}
