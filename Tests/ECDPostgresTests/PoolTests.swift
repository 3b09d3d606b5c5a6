import ECDPostgres
import ECDTestSupport
import Foundation
import Testing

@Suite("PostgreSQL pool")
struct PoolTests {
    /// Holds `count` connections of `pool` on other threads until `release` is signalled.
    final class Holders: @unchecked Sendable {
        let release = DispatchSemaphore(value: 0)
        let holding = DispatchSemaphore(value: 0)
        let done = DispatchGroup()

        init(_ pool: PostgresPool, count: Int) {
            for _ in 0..<count {
                done.enter()
                DispatchQueue.global().async { [self] in
                    defer { done.leave() }
                    _ = try? pool.read { connection in
                        _ = try connection.query("SELECT 1")
                        holding.signal()
                        release.wait()
                    }
                }
            }
            for _ in 0..<count { holding.wait() }
        }

        func letGo(_ count: Int) { for _ in 0..<count { release.signal() } }
    }

    @Test func theBorrowerPastThePoolSizeWaitsThenTimesOut() throws {
        try withPool(poolSize: 2, borrowTimeout: .milliseconds(300)) { pool, _ in
            let holders = Holders(pool, count: 2)
            defer { holders.letGo(2); holders.done.wait() }
            #expect(pool.openConnections == 2)
            let started = ContinuousClock.now
            let error = expectPostgresError { _ = try pool.read { try $0.query("SELECT 1") } }
            let waited = ContinuousClock.now - started
            #expect(error?.kind == .poolTimeout)
            #expect(waited >= .milliseconds(250), "gave up after \(waited), before the borrow timeout")
            #expect(pool.openConnections == 2)
        }
    }

    @Test func aWaitingBorrowerGetsTheFirstConnectionGivenBack() throws {
        try withPool(poolSize: 2, borrowTimeout: .seconds(20)) { pool, server in
            let holders = Holders(pool, count: 2)
            let served = DispatchSemaphore(value: 0)
            DispatchQueue.global().async {
                let pid = try? pool.read { try $0.queryOne("SELECT pg_backend_pid() AS pid")?.get("pid") as Int64? }
                if pid != nil { served.signal() }
            }
            let deadline = Date().addingTimeInterval(10)
            while pool.waitingBorrowers == 0, Date() < deadline { usleep(1000) }
            #expect(pool.waitingBorrowers == 1)
            #expect(served.wait(timeout: .now() + .milliseconds(200)) == .timedOut, "served past the pool bound")
            holders.letGo(1)
            #expect(served.wait(timeout: .now() + 5) == .success)
            holders.letGo(1)
            holders.done.wait()
            // The server never saw more than two connections from this pool.
            #expect(pool.openConnections == 2)
            _ = server
        }
    }

    @Test func asyncBorrowersBeyondThePoolWaitWithoutBlockingAndAllFinish() async throws {
        let server = try SharedPostgres.server.get()
        let database = try server.makeDatabase()
        let pool = PostgresPool(testConfiguration(server, database: database, poolSize: 2, borrowTimeout: .seconds(30)))
        defer { pool.close() }
        try await pool.asyncWrite { try $0.executeScript("CREATE TABLE hits (n INTEGER)") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<20 {
                group.addTask { _ = try await pool.asyncWrite { try $0.execute("INSERT INTO hits VALUES ($1)", [n]) } }
            }
            try await group.waitForAll()
        }
        #expect(pool.openConnections <= 2)
        let count = try await pool.asyncRead { try $0.queryOne("SELECT count(*) AS c FROM hits")?.get("c") as Int64? }
        #expect(count == 20)
        // Only the pool's connections (at most two) plus none left over on the server.
        let connections = try await pool.asyncRead {
            try $0.queryOne("SELECT count(*) AS c FROM pg_stat_activity WHERE datname = current_database()")?.get("c") as Int64?
        }
        #expect((connections ?? 99) <= 2)
    }

    @Test func aStatementPastItsTimeoutIsCancelledAndItsConnectionReplaced() throws {
        let server = try SharedPostgres.server.get()
        var configuration = testConfiguration(server, database: try server.makeDatabase(), poolSize: 1)
        configuration.statementTimeout = .milliseconds(300)
        let pool = PostgresPool(configuration)
        defer { pool.close() }
        let started = ContinuousClock.now
        let error = expectPostgresError { _ = try pool.read { try $0.query("SELECT pg_sleep(30)") } }
        #expect(error?.kind == .timeout)
        #expect(ContinuousClock.now - started < .seconds(5))
        // The pool's single slot was freed and a fresh connection serves the next borrower; the
        // server is no longer running the sleep (it was cancelled, not left to run on).
        let deadline = Date().addingTimeInterval(5)
        var sleeping: Int64? = -1
        repeat {
            sleeping = try pool.read {
                try $0.queryOne("SELECT count(*) AS c FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'")?.get("c")
            }
        } while sleeping != 0 && Date() < deadline
        #expect(sleeping == 0)
    }
}
