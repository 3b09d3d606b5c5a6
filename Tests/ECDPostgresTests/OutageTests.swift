import ECDPostgres
import ECDTestSupport
import Foundation
import Testing

/// Each test stops or restarts a PostgreSQL of its own.
@Suite("PostgreSQL outages")
struct OutageTests {
    @Test func aPooledConnectionEndedByARestartIsReplacedUnseen() throws {
        let server = try PostgresTestServer.start()
        let pool = PostgresPool(testConfiguration(server, poolSize: 2))
        defer { pool.close() }
        let before = try pool.read { try $0.queryOne("SELECT pg_backend_pid() AS pid")?.get("pid") as Int64? }
        try server.restart()
        // The idle connection was ended by the restart: the first query after it still succeeds,
        // on a new backend, because a dead connection is found out before it is lent.
        let after = try pool.read { try $0.queryOne("SELECT pg_backend_pid() AS pid")?.get("pid") as Int64? }
        #expect(after != nil && after != before)
        #expect(pool.openConnections == 1)
    }

    @Test func queriesDuringAnOutageFailFastAsUnavailableThenRecover() throws {
        let server = try PostgresTestServer.start()
        let pool = PostgresPool(testConfiguration(server, poolSize: 2))
        defer { pool.close() }
        try pool.write { try $0.executeScript("CREATE TABLE kept (k INTEGER)") }
        try pool.write { try $0.execute("INSERT INTO kept VALUES (1)") }
        server.stop()
        for _ in 0..<3 {
            let started = ContinuousClock.now
            let error = expectPostgresError { _ = try pool.read { try $0.query("SELECT k FROM kept") } }
            #expect(error?.kind == .unavailable, "\(String(describing: error))")
            #expect(ContinuousClock.now - started < .seconds(2), "an outage must not make callers wait")
        }
        #expect(pool.openConnections == 0)
        try server.start()
        // Within the backoff (≤ 400 ms here) the pool connects again.
        let deadline = ContinuousClock.now + .seconds(5)
        var rows: [PostgresRow]?
        while rows == nil, ContinuousClock.now < deadline {
            rows = try? pool.read { try $0.query("SELECT k FROM kept") }
            if rows == nil { usleep(50_000) }
        }
        #expect(rows?.count == 1)
    }

    @Test func aStatementInFlightWhenTheServerStopsFailsAsUnavailable() throws {
        let server = try PostgresTestServer.start()
        let pool = PostgresPool(testConfiguration(server, poolSize: 2))
        defer { pool.close() }
        let result = LockedBox<PostgresError?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let running = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            do {
                try pool.read { connection in
                    running.signal()
                    _ = try connection.query("SELECT pg_sleep(60)")
                }
            } catch let error as PostgresError {
                result.value = error
            } catch {}
            finished.signal()
        }
        running.wait()
        // Wait until the server runs the sleep, then stop it under the statement.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, (try? pool.read {
            try $0.queryOne("SELECT count(*) AS c FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'")?.get("c") as Int64?
        }) != 1 { usleep(10_000) }
        server.stop()
        #expect(finished.wait(timeout: .now() + 10) == .success)
        #expect(result.value?.kind == .unavailable, "\(String(describing: result.value))")
    }

    @Test func theListenerResubscribesAfterARestartAndSaysSo() throws {
        let server = try PostgresTestServer.start()
        let pool = PostgresPool(testConfiguration(server, poolSize: 1))
        defer { pool.close() }
        let log = EventLog()
        let listener = try PostgresListener(pool.configuration, channels: ["c"], handler: log.append)
        listener.start()
        defer { listener.stop() }
        #expect(listener.waitUntilListening(timeout: .seconds(10)))
        try pool.read { try $0.notify("c", payload: "before") }
        #expect(log.wait(timeout: 1, EventLog.isNotification("before")))
        let seen = log.all.count
        try server.restart()
        #expect(log.wait(timeout: 10, after: seen, EventLog.isDisconnected))
        #expect(log.wait(timeout: 10, after: seen, EventLog.isListening), "not subscribed again")
        try pool.read { try $0.notify("c", payload: "after") }
        #expect(log.wait(timeout: 1, EventLog.isNotification("after")), "not delivered after the restart")
    }
}

final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
