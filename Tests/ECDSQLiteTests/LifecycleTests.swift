import ECDSQLite
import Foundation
import Testing

@Suite("Statement cache, close, backup, integrity")
struct LifecycleTests {
    @Test func statementCacheReusesAndIsBounded() throws {
        let folder = TemporaryFolder()
        defer { folder.cleanUp() }
        let database = try Database(path: folder.file("cache.sqlite"), statementCacheCapacity: 4)
        try database.write { try $0.execute("CREATE TABLE t (x)") }
        let afterSchema = database.cachedStatementCount
        for i in 0..<20 {
            try database.write { try $0.execute("INSERT INTO t VALUES (?)", [i]) }
        }
        #expect(afterSchema > 0)
        #expect(database.cachedStatementCount <= 4)
        for i in 0..<10 {
            _ = try database.read { try $0.query("SELECT x FROM t WHERE x > \(i)") }
        }
        #expect(database.cachedStatementCount <= 4)
        #expect(database.close().isEmpty)
    }

    @Test func cachedStatementIsReusableAfterAnError() throws {
        try withDatabase { database, _ in
            try database.write { try $0.execute("CREATE TABLE t (x UNIQUE)") }
            try database.write { try $0.execute("INSERT INTO t VALUES (?)", [1]) }
            expectSQLiteError(.constraintUnique) {
                try database.write { try $0.execute("INSERT INTO t VALUES (?)", [1]) }
            }
            try database.write { try $0.execute("INSERT INTO t VALUES (?)", [2]) }
            #expect(try database.read { try $0.query("SELECT x FROM t") }.count == 2)
        }
    }

    @Test func nestedUseOfTheSameSQLAndCloseLeavesNothingUnfinalized() throws {
        let folder = TemporaryFolder()
        defer { folder.cleanUp() }
        let database = try Database(path: folder.file("nested.sqlite"))
        try database.write { (connection: Connection) throws in
            try connection.execute("CREATE TABLE t (x)")
            for i in 0..<5 { try connection.execute("INSERT INTO t VALUES (?)", [i]) }
        }
        var pairs = 0
        try database.read { (connection: Connection) throws in
            try connection.iterate("SELECT x FROM t") { _ in
                try connection.iterate("SELECT x FROM t") { _ in pairs += 1 }   // same SQL while busy
            }
        }
        #expect(pairs == 25)
        _ = try? database.read { try $0.query("SELECT * FROM missing_table") }
        #expect(database.close() == [])
    }

    @Test func backupCopiesAConsistentSnapshot() throws {
        try withDatabase { database, folder in
            try database.write { (connection: Connection) throws in
                try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
                for i in 0..<500 { try connection.execute("INSERT INTO t (v) VALUES (?)", [[UInt8](repeating: UInt8(i % 256), count: 100)]) }
            }
            let copyPath = folder.file("backups/copy.sqlite")
            try database.backup(to: copyPath)
            #expect(fileMode(copyPath) == 0o600)
            #expect(fileMode(folder.file("backups")) == 0o700)
            // The source stays usable and later writes do not reach the copy.
            try database.write { try $0.execute("DELETE FROM t WHERE id > 100") }
            let copy = try Database(path: copyPath)
            #expect(try copy.read { try $0.queryOne("SELECT count(*) AS n FROM t")?["n"] } == .integer(500))
            #expect(try copy.integrityCheck() == ["ok"])
            copy.close()
        }
    }

    @Test func integrityCheckReportsOkAndCorruption() throws {
        let folder = TemporaryFolder()
        defer { folder.cleanUp() }
        let path = folder.file("corrupt.sqlite")
        let database = try Database(path: path)
        try database.write { (connection: Connection) throws in
            try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v)")
            for i in 0..<2000 { try connection.execute("INSERT INTO t (v) VALUES (?)", ["value \(i)"]) }
        }
        #expect(try database.integrityCheck() == ["ok"])
        database.close()   // checkpoints the WAL into the main file

        // Scribble over the middle of the file, away from the header and schema pages.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        handle.write(Data(repeating: 0x7F, count: 8192))
        try handle.close()

        do {
            let damaged = try Database(path: path)
            defer { damaged.close() }
            #expect(try damaged.integrityCheck() != ["ok"])
        } catch SQLiteError.Code.corrupt {
            // also an acceptable verdict: the damage is detected
        }
    }
}

@Suite("Cached statements across schema changes")
struct SchemaChangeTests {
    @Test func selectStarSeesAddedColumns() throws {
        try withDatabase { database, _ in
            try database.write { try $0.execute("CREATE TABLE t (a); INSERT INTO t VALUES (1)") }
            let before = try database.read { try $0.queryOne("SELECT * FROM t") }
            #expect(before?.columns == ["a"])
            try database.write { try $0.execute("ALTER TABLE t ADD COLUMN b DEFAULT 2") }
            let after = try database.read { try $0.queryOne("SELECT * FROM t") }
            #expect(after?.columns == ["a", "b"])
            #expect(after?["b"] == .integer(2))
            try database.write { try $0.execute("ALTER TABLE t RENAME COLUMN a TO z") }
            let renamed = try database.read { try $0.queryOne("SELECT * FROM t") }
            #expect(renamed?.columns == ["z", "b"])
        }
    }
}
