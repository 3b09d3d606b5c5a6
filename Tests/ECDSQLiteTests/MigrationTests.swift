import ECDSQLite
import Testing

private struct Boom: Error {}

@Suite("Migrations through PRAGMA user_version")
struct MigrationTests {
    static let base = [
        Migration(version: 2, name: "log", sql: "CREATE TABLE log (step INTEGER); INSERT INTO log VALUES (2)"),
        Migration(version: 1, name: "items", sql: "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"),
    ]

    @Test func appliesInOrderOnceEach() throws {
        try withDatabase { database, _ in
            #expect(try database.userVersion == 0)
            try database.migrate(Self.base)   // given out of order on purpose
            #expect(try database.userVersion == 2)
            try database.migrate(Self.base)   // idempotent
            let third = Migration(version: 3, name: "more") { connection in
                try connection.execute("ALTER TABLE items ADD COLUMN email TEXT")
                try connection.execute("INSERT INTO log VALUES (?)", [3])
            }
            try database.migrate(Self.base + [third])
            try database.migrate(Self.base + [third])
            #expect(try database.userVersion == 3)
            let steps = try database.read { try $0.query("SELECT step FROM log ORDER BY step").map { $0["step"] } }
            #expect(steps == [.integer(2), .integer(3)])
        }
    }

    @Test func failingMigrationLeavesThePreviousVersion() throws {
        try withDatabase { database, _ in
            let failing = Migration(version: 3, name: "half") { connection in
                try connection.execute("CREATE TABLE half_done (x)")
                throw Boom()
            }
            #expect(throws: Boom.self) { try database.migrate(Self.base + [failing]) }
            #expect(try database.userVersion == 2)
            let exists = try database.read {
                try $0.queryOne("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half_done'")?["n"]
            }
            #expect(exists == .integer(0))
        }
    }

    @Test func refusesNewerDatabaseAndBadVersions() throws {
        try withDatabase { database, _ in
            try database.write { try $0.execute("PRAGMA user_version = 10") }
            expectSQLiteError(.error) { try database.migrate(Self.base) }
            expectSQLiteError(.misuse) {
                try database.migrate([Migration(version: 1, name: "a", sql: "SELECT 1"),
                                      Migration(version: 1, name: "b", sql: "SELECT 1")])
            }
            expectSQLiteError(.misuse) { try database.migrate([Migration(version: 0, name: "zero", sql: "SELECT 1")]) }
        }
    }
}
