import ECDSQLite
import Foundation
import Testing

/// A fresh folder per test under the system temporary directory, removed by `cleanUp()`.
struct TemporaryFolder {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("ecd-sqlite-tests-\(UUID().uuidString)").path
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs `body` with an open database in a fresh folder; closes it and checks that closing left
/// no statement unfinalized.
func withDatabase<T>(_ body: (Database, TemporaryFolder) throws -> T) throws -> T {
    let folder = TemporaryFolder()
    defer { folder.cleanUp() }
    let database = try Database(path: folder.file("test.sqlite"))
    let result = try body(database, folder)
    let leaked = database.close()
    #expect(leaked.isEmpty, "unfinalized statements at close: \(leaked)")
    return result
}

func fileMode(_ path: String) -> Int? {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
          let mode = attributes[.posixPermissions] as? NSNumber else { return nil }
    return mode.intValue & 0o777
}

/// Expects `body` to throw an `SQLiteError` matching `code` (a primary code matches its extended codes).
@discardableResult
func expectSQLiteError(
    _ code: SQLiteError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> SQLiteError? {
    do {
        try body()
        Issue.record("expected SQLite error \(code.rawValue), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as SQLiteError {
        #expect(code ~= error.resultCode, "got \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected SQLiteError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

enum DispatchQueueProbe {
    /// `DispatchQueue.concurrentPerform` with a Sendable body, for hammering a Database from threads.
    static func concurrentPerform(iterations: Int, _ body: @Sendable (Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
    }
}
