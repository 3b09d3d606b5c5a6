@testable import ECDSQLite
import Testing

/// The public API gives no way to hold a statement past a call, so a leak can only be staged from
/// inside the module: this checks that `close()` would name it rather than fail silently.
@Suite("close() reports unfinalized statements")
struct LeakReportTests {
    @Test func leakedStatementIsReportedAndTheHandleStillCloses() throws {
        let folder = TemporaryFolder()
        defer { folder.cleanUp() }
        let database = try Database(path: folder.file("leak.sqlite"))
        var leaked: Statement? = try database.onQueue { handle in
            var tail = ""
            return try Statement.prepare(handle.db, sql: "SELECT 42 AS answer", tail: &tail)
        }
        #expect(leaked != nil)
        #expect(database.close() == ["SELECT 42 AS answer"])
        leaked = nil   // finalizing the last statement lets SQLite free the zombie connection
        #expect(leaked == nil)
        #expect(throws: SQLiteError.self) { try database.read { _ in 0 } }
    }
}
