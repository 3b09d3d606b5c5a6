import ECDPostgres
import ECDTestSupport
import Testing

@Suite("PostgreSQL transactions")
struct TransactionTests {
    struct Planned: Error {}

    @Test func aThrowingBodyRollsBackEverything() throws {
        try withPool { pool, _ in
            try pool.write { try $0.executeScript("CREATE TABLE t (k INTEGER PRIMARY KEY)") }
            #expect(throws: Planned.self) {
                try pool.write { connection in
                    try connection.execute("INSERT INTO t VALUES (1)")
                    try connection.execute("INSERT INTO t VALUES (2)")
                    #expect(connection.isInTransaction)
                    throw Planned()
                }
            }
            #expect(try pool.read { try $0.query("SELECT k FROM t") }.isEmpty)
            try pool.write { try $0.execute("INSERT INTO t VALUES (3)") }
            #expect(try pool.read { try $0.query("SELECT k FROM t") }.count == 1)
        }
    }

    @Test func aSwallowedStatementErrorDoesNotPassForACommit() throws {
        try withPool { pool, _ in
            try pool.write { try $0.executeScript("CREATE TABLE t (k INTEGER PRIMARY KEY)") }
            let error = expectPostgresError {
                try pool.write { connection in
                    try connection.execute("INSERT INTO t VALUES (1)")
                    _ = try? connection.execute("INSERT INTO t VALUES (1)")   // fails, error dropped
                }
            }
            #expect(error?.kind == .misuse)
            #expect(try pool.read { try $0.query("SELECT k FROM t") }.isEmpty)
        }
    }

    @Test func aSavepointUndoesOnlyItsOwnWork() throws {
        try withPool { pool, _ in
            try pool.write { try $0.executeScript("CREATE TABLE t (k INTEGER PRIMARY KEY)") }
            try pool.write { connection in
                try connection.execute("INSERT INTO t VALUES (1)")
                _ = try? connection.savepoint("dup") { try connection.execute("INSERT INTO t VALUES (1)") }
                try connection.execute("INSERT INTO t VALUES (2)")
            }
            #expect(try pool.read { try $0.query("SELECT k FROM t ORDER BY k") }.map { try $0.get("k") as Int } == [1, 2])
        }
    }

    @Test func uncommittedWorkIsInvisibleToOtherConnections() throws {
        try withPool(poolSize: 2) { pool, _ in
            try pool.write { try $0.executeScript("CREATE TABLE t (k INTEGER PRIMARY KEY)") }
            try pool.write { connection in
                try connection.execute("INSERT INTO t VALUES (1)")
                // The second pooled connection does not see it before COMMIT.
                #expect(try pool.read { try $0.query("SELECT k FROM t") }.isEmpty)
            }
            #expect(try pool.read { try $0.query("SELECT k FROM t") }.count == 1)
        }
    }

    @Test func asyncWriteCommitsAndRollsBack() async throws {
        let server = try SharedPostgres.server.get()
        let pool = PostgresPool(testConfiguration(server, database: try server.makeDatabase()))
        defer { pool.close() }
        try await pool.asyncWrite { try $0.executeScript("CREATE TABLE t (k INTEGER PRIMARY KEY)") }
        try await pool.asyncWrite { try $0.execute("INSERT INTO t VALUES (1)") }
        await #expect(throws: Planned.self) {
            try await pool.asyncWrite { connection in
                try connection.execute("INSERT INTO t VALUES (2)")
                throw Planned()
            }
        }
        let keys = try await pool.asyncRead { try $0.query("SELECT k FROM t").map { try $0.get("k") as Int } }
        #expect(keys == [1])
    }
}
