import ECDSQLite
import Testing

private struct Boom: Error {}

@Suite("Transactions and savepoints")
struct TransactionTests {
    private func count(_ database: Database) throws -> Int64 {
        try database.read { try $0.queryOne("SELECT count(*) AS n FROM t")?.get("n") ?? -1 }
    }

    @Test func writeCommitsAndRollsBackOnThrow() throws {
        try withDatabase { database, _ in
            try database.write { try $0.execute("CREATE TABLE t (x)") }
            try database.write { (connection: Connection) throws in
                #expect(connection.isInTransaction)
                try connection.execute("INSERT INTO t VALUES (1)")
            }
            #expect(try count(database) == 1)
            #expect(throws: Boom.self) {
                try database.write { (connection: Connection) throws in
                    try connection.execute("INSERT INTO t VALUES (2)")
                    try connection.execute("INSERT INTO t VALUES (3)")
                    throw Boom()
                }
            }
            #expect(try count(database) == 1)
            #expect(try database.read { !$0.isInTransaction })
        }
    }

    @Test func sqlErrorInsideWriteRollsBackEverything() throws {
        try withDatabase { database, _ in
            try database.write { try $0.execute("CREATE TABLE t (x UNIQUE)") }
            expectSQLiteError(.constraintUnique) {
                try database.write { (connection: Connection) throws in
                    try connection.execute("INSERT INTO t VALUES (1)")
                    try connection.execute("INSERT INTO t VALUES (1)")
                }
            }
            #expect(try count(database) == 0)
        }
    }

    @Test func writeReturnsItsValue() throws {
        try withDatabase { database, _ in
            let id = try database.write { connection -> Int64 in
                try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
                try connection.execute("INSERT INTO t DEFAULT VALUES")
                return connection.lastInsertRowID
            }
            #expect(id == 1)
        }
    }

    @Test func savepointUndoesOnlyItsOwnWork() throws {
        try withDatabase { database, _ in
            try database.write { try $0.execute("CREATE TABLE t (x)") }
            try database.write { (connection: Connection) throws in
                try connection.execute("INSERT INTO t VALUES ('outer')")
                #expect(throws: Boom.self) {
                    try connection.savepoint("inner") {
                        try connection.execute("INSERT INTO t VALUES ('inner')")
                        throw Boom()
                    }
                }
                let kept = try connection.savepoint("second") { () -> Int in
                    try connection.execute("INSERT INTO t VALUES ('second')")
                    return 7
                }
                #expect(kept == 7)
                #expect(connection.isInTransaction)
            }
            let values = try database.read { try $0.query("SELECT x FROM t ORDER BY rowid").map { $0["x"] } }
            #expect(values == [.text("outer"), .text("second")])
        }
    }

    @Test func savepointWorksOutsideATransaction() throws {
        try withDatabase { database, _ in
            try database.write { try $0.execute("CREATE TABLE t (x)") }
            try database.read { (connection: Connection) throws in
                #expect(throws: Boom.self) {
                    try connection.savepoint("solo \"quoted\"") {
                        try connection.execute("INSERT INTO t VALUES (1)")
                        throw Boom()
                    }
                }
                #expect(!connection.isInTransaction)
            }
            #expect(try count(database) == 0)
        }
    }

    @Test func concurrentWritersAreSerialized() throws {
        try withDatabase { database, _ in
            try database.write { try $0.execute("CREATE TABLE t (x)") }
            DispatchQueueProbe.concurrentPerform(iterations: 8) { worker in
                for i in 0..<50 {
                    try? database.write { try $0.execute("INSERT INTO t VALUES (?)", [worker * 1000 + i]) }
                }
            }
            #expect(try count(database) == 400)
        }
    }
}

@Suite("Async access")
struct AsyncAccessTests {
    private struct Boom: Error {}

    @Test func asyncWriteCommitsRollsBackAndInterleaves() async throws {
        let folder = TemporaryFolder()
        defer { folder.cleanUp() }
        let database = try Database(path: folder.file("async.sqlite"))
        try await database.asyncWrite { try $0.execute("CREATE TABLE t (x)") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    for i in 0..<25 {
                        try await database.asyncWrite { try $0.execute("INSERT INTO t VALUES (?)", [task * 100 + i]) }
                    }
                }
            }
            try await group.waitForAll()
        }
        await #expect(throws: Boom.self) {
            try await database.asyncWrite { connection in
                try connection.execute("INSERT INTO t VALUES (-1)")
                throw Boom()
            }
        }
        let count = try await database.asyncRead { try $0.queryOne("SELECT count(*) AS n FROM t")?["n"] }
        #expect(count == .integer(100))
        #expect(database.close().isEmpty)
        await #expect(throws: SQLiteError.self) { try await database.asyncRead { _ in 0 } }
    }
}
