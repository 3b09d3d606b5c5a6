import ECDPostgres
import ECDTestSupport
import Foundation
import Testing

/// One server shared by the tests that do not stop it, started on first use and stopped when the
/// test process exits; each test gets a database of its own on it. Tests that stop or restart a
/// server start a private one.
enum SharedPostgres {
    static let server: Result<PostgresTestServer, Error> = {
        let result = Result { try PostgresTestServer.start() }
        // Swift Testing has no end-of-run hook; the process exits through exit(3).
        atexit { if case .success(let server) = SharedPostgres.server { server.destroy() } }
        return result
    }()
}

/// A pool on a fresh database of the shared server, closed after `body`.
func withPool<T>(poolSize: Int = 4, borrowTimeout: Duration = .seconds(5),
                 _ body: (PostgresPool, PostgresTestServer) throws -> T) throws -> T {
    let server = try SharedPostgres.server.get()
    let database = try server.makeDatabase()
    let pool = PostgresPool(testConfiguration(server, database: database, poolSize: poolSize,
                                              borrowTimeout: borrowTimeout))
    defer { pool.close() }
    return try body(pool, server)
}

func testConfiguration(_ server: PostgresTestServer, database: String = "postgres", poolSize: Int = 4,
                       borrowTimeout: Duration = .seconds(5)) -> PostgresConfiguration {
    PostgresConfiguration(url: server.url(database: database), poolSize: poolSize, borrowTimeout: borrowTimeout,
                          connectTimeout: .seconds(5), statementTimeout: .seconds(20),
                          initialBackoff: .milliseconds(50), maximumBackoff: .milliseconds(400))
}

/// Expects `body` to throw a `PostgresError`; returns it.
@discardableResult
func expectPostgresError(sourceLocation: SourceLocation = #_sourceLocation,
                         _ body: () throws -> Void) -> PostgresError? {
    do {
        try body()
        Issue.record("expected a PostgresError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as PostgresError {
        return error
    } catch {
        Issue.record("expected PostgresError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
