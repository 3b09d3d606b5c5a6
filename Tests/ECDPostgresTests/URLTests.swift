import ECDPostgres
import Testing

@Suite("PostgreSQL URLs")
struct URLTests {
    @Test func aURLIsShownWithoutItsPasswordOrParameters() throws {
        let url = try PostgresURL(parsing: "postgresql://ecd:p%40ss-Zk4@db.internal:5433/ecd?sslmode=disable&passfile=/x")
        #expect(url.user == "ecd")
        #expect(url.host == "db.internal")
        #expect(url.port == "5433")
        #expect(url.database == "ecd")
        #expect(url.redacted == "postgresql://ecd:***@db.internal:5433/ecd")
        let scrubbed = url.scrub("failed for p@ss-Zk4 in postgresql://ecd:p%40ss-Zk4@db.internal:5433/ecd?sslmode=disable&passfile=/x")
        #expect(!scrubbed.contains("ss-Zk4"), "\(scrubbed)")
        #expect(try PostgresURL(parsing: "postgres://localhost/db").redacted == "postgresql://localhost/db")
        #expect(try PostgresURL(parsing: "postgresql://u@h").redacted == "postgresql://u@h/u")
    }

    /// However a URL or a pool's configuration is rendered (interpolated, debug-printed, dumped,
    /// quoted by a failing expectation), the password is not in it.
    @Test func noRenderingOfAURLOrConfigurationShowsThePassword() throws {
        let url = try PostgresURL(parsing: "postgresql://ecd:secret-R7x@db.internal:5433/ecd?password=other-R7y")
        let configuration = PostgresConfiguration(url: url.url)
        var dumped = ""
        dump(url, to: &dumped)
        dump(configuration, to: &dumped)
        let renderings = ["\(url)", String(reflecting: url), "\(configuration)", String(reflecting: configuration), dumped]
        for text in renderings {
            #expect(!text.contains("R7x") && !text.contains("R7y"), "\(text)")
        }
        #expect("\(url)" == "postgresql://ecd:***@db.internal:5433/ecd")
    }

    /// A URL may spell two passwords (userinfo and `?password=`); libpq sends one, but both are
    /// secrets an operator typed, so a message quoting either (or the URL) shows neither.
    @Test func bothPasswordsOfAURLAreScrubbed() throws {
        let url = try PostgresURL(parsing: "postgresql://ecd:first%2FK8q@db:5432/ecd?sslmode=disable&password=second-K9w")
        let message = "auth failed: first/K8q, first%2FK8q, second-K9w, in "
            + "postgresql://ecd:first%2FK8q@db:5432/ecd?password=second-K9w"
        let scrubbed = url.scrub(message)
        #expect(!scrubbed.contains("K8q") && !scrubbed.contains("K9w"), "\(scrubbed)")
        #expect(url.redacted == "postgresql://ecd:***@db:5432/ecd")
        // Only a parameter: the user is still shown as having a password.
        let parameterOnly = try PostgresURL(parsing: "postgresql://ecd@db/ecd?password=third-K7z")
        #expect(parameterOnly.redacted == "postgresql://ecd:***@db/ecd")
        #expect(!parameterOnly.scrub("x third-K7z y").contains("K7z"))
    }

    @Test func onlyURIsLibpqAcceptsAreAccepted() {
        #expect(throws: PostgresURL.Problem.notAURI) { try PostgresURL(parsing: "host=db password=secret-Q1") }
        #expect(throws: PostgresURL.Problem.notAURI) { try PostgresURL(parsing: "mysql://u:secret-Q1@h/db") }
        #expect(throws: PostgresURL.Problem.unparsable) { try PostgresURL(parsing: "postgresql://u:secret-Q1@h/db?no_such_option=1") }
        #expect(!PostgresURL.Problem.unparsable.description.contains("secret"))
    }
}
