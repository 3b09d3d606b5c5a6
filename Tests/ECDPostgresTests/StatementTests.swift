import ECDPostgres
import ECDTestSupport
import Testing

@Suite("PostgreSQL statements and errors")
struct StatementTests {
    @Test func aPreparedStatementIsReusedNotPreparedAgain() throws {
        try withPool(poolSize: 1) { pool, _ in
            try pool.write { try $0.executeScript("CREATE TABLE n (k INTEGER PRIMARY KEY, v TEXT)") }
            try pool.read { connection in
                let before = connection.cachedStatementCount
                for k in 0..<20 {
                    try connection.execute("INSERT INTO n (k, v) VALUES ($1, $2)", [k, "v\(k)"])
                }
                #expect(connection.cachedStatementCount == before + 1)
                // The server holds exactly one prepared statement for that SQL on this connection.
                let prepared = try connection.query(
                    "SELECT count(*) AS c FROM pg_prepared_statements WHERE statement = $1",
                    ["INSERT INTO n (k, v) VALUES ($1, $2)"])
                #expect(try prepared[0].get("c") as Int64 == 1)
            }
            // A second borrow of the single connection finds the statement still prepared.
            try pool.read { connection in
                let before = connection.cachedStatementCount
                let inserted = try connection.execute("INSERT INTO n (k, v) VALUES ($1, $2)", [100, "x"])
                #expect(inserted == 1)
                #expect(connection.cachedStatementCount == before)
            }
        }
    }

    @Test func affectedRowsAreCounted() throws {
        try withPool { pool, _ in
            try pool.write { connection in
                try connection.executeScript("CREATE TABLE c (k INTEGER); INSERT INTO c SELECT generate_series(1, 10)")
                let updated = try connection.execute("UPDATE c SET k = k + 1 WHERE k > $1", [4])
                let deleted = try connection.execute("DELETE FROM c")
                #expect(updated == 6 && deleted == 10)
            }
        }
    }

    @Test func uniqueViolationIsTypedAndCarriesNoBoundValue() throws {
        try withPool { pool, _ in
            try pool.write { try $0.executeScript("CREATE TABLE s (token TEXT CONSTRAINT s_token_key UNIQUE)") }
            let secret = "sk_live_SECRET_TOKEN_VALUE"
            try pool.write { try $0.execute("INSERT INTO s VALUES ($1)", [secret]) }
            var matched = false
            do {
                try pool.write { try $0.execute("INSERT INTO s VALUES ($1)", [secret]) }
            } catch PostgresError.State.uniqueViolation {
                matched = true
            }
            #expect(matched)
            let error = expectPostgresError { _ = try pool.write { try $0.execute("INSERT INTO s VALUES ($1)", [secret]) } }
            #expect(error?.kind == .server)
            #expect(error?.sqlState == "23505")
            #expect(error?.constraint == "s_token_key")
            #expect(error?.table == "s")
            #expect(error?.sql == "INSERT INTO s VALUES ($1)")
            let text = "\(String(describing: error)) \(error?.message ?? "")"
            #expect(!text.contains(secret), "\(text)")
            // The class pattern matches too.
            #expect(PostgresError.State.integrityConstraintViolation ~= (error as (any Error)?)!)
        }
    }

    @Test func dataExceptionsDoNotQuoteTheInput() throws {
        try withPool { pool, _ in
            // The server's own message would be: invalid input syntax for type integer: "<input>".
            let error = expectPostgresError {
                _ = try pool.read { try $0.query("SELECT $1::integer", ["not-a-number-SECRET"]) }
            }
            #expect(error?.sqlState == "22P02")
            #expect(error.map { !$0.description.contains("SECRET") } == true)
            let range = expectPostgresError {
                _ = try pool.read { try $0.query("SELECT $1::integer", [Int64(99_999_999_999)]) }
            }
            #expect(range?.sqlState == "22003")
            #expect(range.map { !$0.description.contains("99999999999") } == true)
        }
    }

    @Test func syntaxErrorsAreServerErrorsWithTheirSQL() throws {
        try withPool { pool, _ in
            let error = expectPostgresError { _ = try pool.read { try $0.query("SELEC 1") } }
            #expect(error?.kind == .server)
            #expect(error?.state == .syntaxError)
            #expect(error?.sql == "SELEC 1")
            // The connection survives a statement error and serves the next borrower.
            let one = try pool.read { try $0.queryOne("SELECT 1 AS one")?.get("one") as Int64? }
            #expect(one == 1)
        }
    }
}
