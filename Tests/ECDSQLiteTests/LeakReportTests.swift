import Foundation
@testable import ECDSQLite
import Testing

/// The public API gives no way to hold a statement past a call, so a leak can only be staged from
/// inside the module: this checks that `close()` would name it rather than fail silently, and that
/// the connection is really released (its file descriptors closed) once the leaked statement goes.
@Suite("close() reports unfinalized statements")
struct LeakReportTests {
    @Test func leakedStatementIsReportedAndTheHandleStillCloses() throws {
        let folder = TemporaryFolder()
        defer { folder.cleanUp() }
        let database = try Database(path: folder.file("leak.sqlite"))
        #expect(openDescriptors(under: folder.path) > 0)
        var leaked: Statement? = try database.onQueue { handle in
            var tail = ""
            return try Statement.prepare(handle.db, sql: "SELECT 42 AS answer", tail: &tail)
        }
        #expect(leaked != nil)
        #expect(database.close() == ["SELECT 42 AS answer"])
        #expect(throws: SQLiteError.self) { try database.read { _ in 0 } }
        // The unfinalized statement keeps the connection (a zombie) and so its file open...
        #expect(openDescriptors(under: folder.path) > 0)
        leaked = nil
        // ...and finalizing it lets SQLite free the zombie: nothing of the database stays open.
        #expect(openDescriptors(under: folder.path) == 0)
    }

    /// File descriptors of this process whose target lies in `folder` (the database, its WAL and
    /// shared-memory files). Other tests running in parallel use other folders.
    private func openDescriptors(under folder: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.filter { entry in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry)) ?? ""
            return target.hasPrefix(folder + "/")
        }.count
    }
}
