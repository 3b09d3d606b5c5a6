import FoundationEssentials
import ECDCSQLite
import ECDText

/// The database as seen inside `Database.read` and `Database.write`. Only valid for the duration
/// of that call, on the database's queue; using it afterwards is a programming error.
public final class Connection {
    let handle: ConnectionHandle
    private var isValid = true

    init(handle: ConnectionHandle) {
        self.handle = handle
    }

    func invalidate() { isValid = false }

    private var db: OpaquePointer {
        precondition(isValid, "Connection used outside of Database.read/write")
        return handle.db
    }

    /// Runs one statement with positional (`?`) arguments. Without arguments, `sql` may hold
    /// several statements separated by `;`, run in order.
    public func execute(_ sql: String, _ arguments: [any SQLValueConvertible] = []) throws {
        _ = db
        if arguments.isEmpty, !isSingleStatement(sql) {
            try handle.executeScript(sql)
            return
        }
        try handle.withStatement(sql) { statement in
            try statement.bind(arguments)
            while try statement.step() {}
        }
    }

    /// Runs one statement with named (`:name`) arguments; keys may omit the leading ":".
    public func execute(_ sql: String, named arguments: [String: any SQLValueConvertible]) throws {
        _ = db
        try handle.withStatement(sql) { statement in
            try statement.bind(named: arguments)
            while try statement.step() {}
        }
    }

    public func query(_ sql: String, _ arguments: [any SQLValueConvertible] = []) throws -> [Row] {
        var rows: [Row] = []
        try iterate(sql, arguments) { rows.append($0) }
        return rows
    }

    public func query(_ sql: String, named arguments: [String: any SQLValueConvertible]) throws -> [Row] {
        _ = db
        return try handle.withStatement(sql) { statement in
            try statement.bind(named: arguments)
            var rows: [Row] = []
            while try statement.step() { rows.append(statement.row()) }
            return rows
        }
    }

    /// The first row, or nil. Stops after one row.
    public func queryOne(_ sql: String, _ arguments: [any SQLValueConvertible] = []) throws -> Row? {
        _ = db
        return try handle.withStatement(sql) { statement in
            try statement.bind(arguments)
            return try statement.step() ? statement.row() : nil
        }
    }

    /// Streams rows to `body` one at a time, for result sets too large to hold at once.
    public func iterate(_ sql: String, _ arguments: [any SQLValueConvertible] = [],
                        _ body: (Row) throws -> Void) throws {
        _ = db
        try handle.withStatement(sql) { statement in
            try statement.bind(arguments)
            while try statement.step() { try body(statement.row()) }
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes64(db)) }

    /// Rows changed by every INSERT, UPDATE or DELETE since the connection opened.
    public var totalChanges: Int { Int(sqlite3_total_changes64(db)) }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(db) }

    /// True while a transaction is open on this connection.
    public var isInTransaction: Bool { sqlite3_get_autocommit(db) == 0 }

    /// Runs `body` inside `SAVEPOINT name`: released on return, rolled back (and released) on
    /// throw, so a failure undoes only the work of `body` and the outer transaction goes on.
    public func savepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        let quoted = "\"" + name.replacingAll("\"", with: "\"\"") + "\""
        try handle.executeScript("SAVEPOINT \(quoted)")
        do {
            let result = try body()
            try handle.executeScript("RELEASE SAVEPOINT \(quoted)")
            return result
        } catch {
            try? handle.executeScript("ROLLBACK TO SAVEPOINT \(quoted)")
            try? handle.executeScript("RELEASE SAVEPOINT \(quoted)")
            throw error
        }
    }

    private func isSingleStatement(_ sql: String) -> Bool {
        // Cheap pre-check: no ";" before the trailing blanks means one statement.
        guard let semicolon = sql.utf8.firstIndex(of: 0x3B) else { return true }
        return ConnectionHandle.isBlank(String(sql[semicolon...]))
    }
}
