import ECDSQLite
import Testing

@Suite("SQLiteError")
struct ErrorTests {
    @Test func syntaxErrorCarriesCodeMessageAndSQL() throws {
        try withDatabase { database, _ in
            let error = expectSQLiteError(.error) {
                try database.read { try $0.execute("SELEC nonsense FROM nowhere WHERE x = ?", [1]) }
            }
            #expect(error?.code == 1)
            #expect(error?.message.contains("syntax error") == true)
            #expect(error?.sql == "SELEC nonsense FROM nowhere WHERE x = ?")
        }
    }

    @Test func constraintCodesArePatternMatchable() throws {
        try withDatabase { database, _ in
            try database.write { (connection: Connection) throws in
                try connection.execute("CREATE TABLE u (email TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n > 0))")
                try connection.execute("INSERT INTO u VALUES (?, ?)", ["a@example.com", 1])
            }
            // An extended pattern matches only itself; the primary pattern matches every extension.
            do {
                try database.write { try $0.execute("INSERT INTO u VALUES (?, ?)", ["a@example.com", 2]) }
                Issue.record("duplicate accepted")
            } catch SQLiteError.Code.constraintNotNull {
                Issue.record("wrong extended code matched")
            } catch SQLiteError.Code.constraintPrimaryKey {
                // expected
            }
            expectSQLiteError(.constraint) {
                try database.write { try $0.execute("INSERT INTO u VALUES (?, ?)", ["b@example.com", 0]) }
            }
            let notNull = expectSQLiteError(.constraintNotNull) {
                try database.write { try $0.execute("INSERT INTO u VALUES (?, ?)", ["c@example.com", Int?.none]) }
            }
            #expect(notNull?.primaryCode == 19)
            #expect(notNull?.code == Int32(1299))   // SQLITE_CONSTRAINT_NOTNULL
            #expect(notNull?.resultCode == .constraintNotNull)
        }
    }

    @Test func boundValuesNeverAppearInErrors() throws {
        try withDatabase { database, _ in
            try database.write { try $0.execute("CREATE TABLE s (token TEXT UNIQUE)") }
            let secret = "sk_live_SECRET_TOKEN_VALUE"
            try database.write { try $0.execute("INSERT INTO s VALUES (?)", [secret]) }
            let error = expectSQLiteError(.constraintUnique) {
                try database.write { try $0.execute("INSERT INTO s VALUES (?)", [secret]) }
            }
            let text = "\(String(describing: error)) \(error?.message ?? "") \(error?.sql ?? "")"
            #expect(!text.contains(secret))
            #expect(error?.sql == "INSERT INTO s VALUES (?)")
            #expect(error?.description.contains("SQLITE_CONSTRAINT") == true || error?.description.contains("constraint") == true)
        }
    }

    @Test func foreignKeysAreEnforced() throws {
        try withDatabase { database, _ in
            try database.write { (connection: Connection) throws in
                try connection.execute("""
                    CREATE TABLE parent (id INTEGER PRIMARY KEY);
                    CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id));
                    """)
            }
            expectSQLiteError(.constraintForeignKey) {
                try database.write { try $0.execute("INSERT INTO child (parent_id) VALUES (?)", [99]) }
            }
        }
    }

    @Test func queryRejectsSeveralStatements() throws {
        try withDatabase { database, _ in
            expectSQLiteError(.misuse) {
                _ = try database.read { try $0.query("SELECT 1; SELECT 2", []) }
            }
            expectSQLiteError(.misuse) {
                try database.read { try $0.execute("SELECT ?; SELECT 2", [1]) }
            }
        }
    }
}
