import ECDSQLite
import Foundation
import Testing

@Suite("Binding and reading values")
struct ValueTests {
    @Test func everyTypeRoundTrips() throws {
        try withDatabase { database, _ in
            let date = Date(timeIntervalSince1970: 1_700_000_000.123)
            let row = try database.write { connection -> Row? in
                try connection.execute("CREATE TABLE v (i, d, s, b, data, flag, at, none, big, small, u)")
                try connection.execute("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                    42, 3.25, "héllo ✓", [UInt8]([0, 1, 2, 255]), Data([9, 8, 7]), true, date,
                    String?.none, Int64.max, Int64.min, "with\u{0}nul",
                ])
                return try connection.queryOne("SELECT * FROM v")
            }
            let r = try #require(row)
            #expect(try r.get("i") as Int == 42)
            #expect(try r.get("i") as Int64 == 42)
            #expect(try r.get("d") as Double == 3.25)
            #expect(try r.get("s") as String == "héllo ✓")
            #expect(try r.get("b") as [UInt8] == [0, 1, 2, 255])
            #expect(try r.get("data") as Data == Data([9, 8, 7]))
            #expect(try r.get("flag") as Bool == true)
            #expect(r["at"] == .integer(1_700_000_000_123))
            #expect(try r.get("at") as Date == Date(timeIntervalSince1970: 1_700_000_000.123))
            #expect(r["none"] == .null)
            #expect(try r.get("none") as String? == nil)
            #expect(try r.get("big") as Int64 == .max)
            #expect(try r.get("small") as Int64 == .min)
            #expect(try r.get("u") as String == "with\u{0}nul")
            #expect(try r.get("S") as String == "héllo ✓")   // column names are case-insensitive
        }
    }

    @Test func emptyStringAndEmptyBlobAreNotNull() throws {
        try withDatabase { database, _ in
            let row = try database.write { connection -> Row? in
                try connection.execute("CREATE TABLE e (s, b)")
                try connection.execute("INSERT INTO e VALUES (?, ?)", ["", [UInt8]()])
                return try connection.queryOne("SELECT s, b, typeof(s) AS ts, typeof(b) AS tb FROM e")
            }
            #expect(row?["s"] == .text(""))
            #expect(row?["b"] == .blob([]))
            #expect(row?["ts"] == .text("text"))
            #expect(row?["tb"] == .text("blob"))
        }
    }

    @Test func typeMismatchAndNullThrowOnGet() throws {
        try withDatabase { database, _ in
            let row = try #require(try database.read { try $0.queryOne("SELECT 'text' AS t, NULL AS n, 1.5 AS r") })
            #expect(throws: SQLiteError.self) { try row.get("t") as Int }
            #expect(throws: SQLiteError.self) { try row.get("n") as String }
            #expect(throws: SQLiteError.self) { try row.get("missing") as String }
            #expect(throws: SQLiteError.self) { try row.get("r") as Int }
            #expect(row.optional("t") as Int? == nil)
            #expect(row.optional("n") as String? == nil)
            #expect(row.optional("t") as String? == "text")
            #expect(row["missing"] == .null)
        }
    }

    @Test func namedAndPositionalParameters() throws {
        try withDatabase { database, _ in
            let rows = try database.write { connection -> [Row] in
                try connection.execute("CREATE TABLE p (a, b)")
                try connection.execute("INSERT INTO p (a, b) VALUES (:a, :b)", named: ["a": 1, ":b": "one"])
                try connection.execute("INSERT INTO p (a, b) VALUES (?2, ?1)", ["two", 2])
                try connection.execute("INSERT INTO p (a, b) VALUES (@a, $b)", named: ["a": 3, "b": "three"])
                return try connection.query("SELECT a, b FROM p WHERE a >= :min ORDER BY a", named: ["min": 1])
            }
            #expect(rows.map { $0["a"] } == [.integer(1), .integer(2), .integer(3)])
            #expect(rows.map { $0["b"] } == [.text("one"), .text("two"), .text("three")])
        }
    }

    @Test func argumentCountMismatchesAreErrors() throws {
        try withDatabase { database, _ in
            try database.write { (connection: Connection) throws in
                try connection.execute("CREATE TABLE q (a, b)")
                expectSQLiteError(.range) { try connection.execute("INSERT INTO q VALUES (?, ?)", [1]) }
                expectSQLiteError(.range) {
                    try connection.execute("INSERT INTO q VALUES (:a, :b)", named: ["a": 1])
                }
                expectSQLiteError(.range) {
                    try connection.execute("INSERT INTO q VALUES (:a, :b)", named: ["a": 1, "b": 2, "c": 3])
                }
            }
        }
    }

    @Test func changesAndLastInsertRowID() throws {
        try withDatabase { database, _ in
            try database.write { (connection: Connection) throws in
                try connection.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, x)")
                try connection.execute("INSERT INTO c (x) VALUES (?)", ["a"])
                #expect(connection.lastInsertRowID == 1)
                try connection.execute("INSERT INTO c (x) VALUES (?)", ["b"])
                #expect(connection.lastInsertRowID == 2)
                try connection.execute("UPDATE c SET x = 'z'")
                #expect(connection.changes == 2)
            }
        }
    }

    @Test func iterateStreamsRows() throws {
        try withDatabase { database, _ in
            var sum: Int64 = 0
            try database.write { (connection: Connection) throws in
                try connection.execute("CREATE TABLE n (v INTEGER)")
                for v in 1...100 { try connection.execute("INSERT INTO n VALUES (?)", [v]) }
                try connection.iterate("SELECT v FROM n") { sum += try $0.get("v") as Int64 }
            }
            #expect(sum == 5050)
        }
    }
}
