import ECDCLibPQ
import FoundationEssentials
import ECDText

/// The database as seen inside `PostgresPool.read` and `write`: one pooled connection, valid
/// only for the duration of that call. Statements use `$1, $2, …` placeholders and are prepared
/// once per connection, then reused.
public final class PostgresConnection {
    let handle: ConnectionHandle
    private var isValid = true

    init(handle: ConnectionHandle) {
        self.handle = handle
    }

    func invalidate() { isValid = false }

    private var live: ConnectionHandle {
        precondition(isValid, "PostgresConnection used outside of PostgresPool.read/write")
        return handle
    }

    /// Runs one statement; returns the number of rows it inserted, updated or deleted.
    @discardableResult
    public func execute(_ sql: String, _ arguments: [any PostgresValueConvertible] = []) throws -> Int {
        try live.run(sql, arguments.map(\.postgresValue)).affectedRows
    }

    /// Runs one statement and returns all its rows.
    public func query(_ sql: String, _ arguments: [any PostgresValueConvertible] = []) throws -> [PostgresRow] {
        try live.run(sql, arguments.map(\.postgresValue)).rows()
    }

    /// The first row, or nil.
    public func queryOne(_ sql: String, _ arguments: [any PostgresValueConvertible] = []) throws -> PostgresRow? {
        try query(sql, arguments).first
    }

    /// Runs a script of several `;`-separated statements without parameters (schema changes).
    public func executeScript(_ sql: String) throws {
        try live.runScript(sql)
    }

    /// Sends `payload` to the listeners of `channel`. Inside a transaction it is delivered at
    /// COMMIT and dropped on ROLLBACK, so a notification never announces a change that did not happen.
    public func notify(_ channel: String, payload: String = "") throws {
        try execute("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// True while a transaction is open (or failed and not yet rolled back) on this connection.
    public var isInTransaction: Bool { live.isInTransaction }

    /// Runs `body` inside `SAVEPOINT name`: released on return, rolled back to on throw, so a
    /// failure undoes only `body`'s work and the outer transaction can go on.
    public func savepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        let quoted = "\"" + name.replacingAll("\"", with: "\"\"") + "\""
        try live.runScript("SAVEPOINT \(quoted)")
        do {
            let result = try body()
            try live.runScript("RELEASE SAVEPOINT \(quoted)")
            return result
        } catch {
            try? live.runScript("ROLLBACK TO SAVEPOINT \(quoted)")
            try? live.runScript("RELEASE SAVEPOINT \(quoted)")
            throw error
        }
    }

    /// Prepared statements held by this connection (for tests and diagnostics).
    public var cachedStatementCount: Int { live.statements.count }
}
