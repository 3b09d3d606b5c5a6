import ECDCSQLite

/// One prepared statement. Owned by exactly one `Statement` object, finalized in `deinit`, so a
/// statement can never outlive or leak past its owner (GRDB's rule).
///
/// Not thread-safe: used only on its database's queue.
final class Statement {
    let handle: OpaquePointer
    let sql: String
    private let database: OpaquePointer
    /// Column names, read on the first row of each execution and shared by its rows. Not kept
    /// across executions: a schema change re-prepares the statement and may change them.
    private var names: [String]?
    var columnNames: [String] {
        if let names { return names }
        let fresh = (0..<sqlite3_column_count(handle)).map { String(cString: sqlite3_column_name(handle, $0)) }
        names = fresh
        return fresh
    }

    /// Prepares the first statement of `sql`; `tail` receives the unparsed rest.
    /// Returns nil for text that holds no statement (only whitespace or comments).
    static func prepare(_ database: OpaquePointer, sql: String, tail: inout String) throws -> Statement? {
        var statement: OpaquePointer?
        var rest = ""
        let code = sql.withCString { text -> Int32 in
            var tailPointer: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(database, text, -1, 0, &statement, &tailPointer)
            if let tailPointer { rest = String(cString: tailPointer) }
            return code
        }
        guard code == SQLITE_OK else {
            throw SQLiteError.current(database, code: code, sql: sql)
        }
        tail = rest
        guard let statement else { return nil }
        let own = String(cString: sqlite3_sql(statement))
        return Statement(handle: statement, database: database, sql: own)
    }

    private init(handle: OpaquePointer, database: OpaquePointer, sql: String) {
        self.handle = handle
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Returns the statement to its initial state with no bindings, ready for reuse from the cache.
    func reset() {
        names = nil
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: - Binding

    func bind(_ arguments: [any SQLValueConvertible]) throws {
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard expected == arguments.count else {
            throw SQLiteError(code: SQLITE_RANGE,
                              message: "statement expects \(expected) arguments, got \(arguments.count)",
                              sql: sql)
        }
        for (offset, argument) in arguments.enumerated() {
            try bind(argument.sqlValue, at: Int32(offset + 1))
        }
    }

    /// Binds `:name`, `@name` or `$name` parameters. Keys may be given with or without the ":".
    func bind(named arguments: [String: any SQLValueConvertible]) throws {
        var bound = 0
        for (name, argument) in arguments {
            let candidates = name.first.map { ":@$".contains($0) } == true ? [name] : [":" + name, "@" + name, "$" + name]
            guard let index = candidates.lazy.map({ sqlite3_bind_parameter_index(self.handle, $0) }).first(where: { $0 > 0 }) else {
                throw SQLiteError(code: SQLITE_RANGE, message: "statement has no parameter named \(name)", sql: sql)
            }
            try bind(argument.sqlValue, at: index)
            bound += 1
        }
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard bound == expected else {
            throw SQLiteError(code: SQLITE_RANGE,
                              message: "statement expects \(expected) named arguments, got \(bound)", sql: sql)
        }
    }

    private func bind(_ value: SQLValue, at index: Int32) throws {
        let code: Int32
        switch value {
        case .null:
            code = sqlite3_bind_null(handle, index)
        case .integer(let int):
            code = sqlite3_bind_int64(handle, index, int)
        case .real(let double):
            code = sqlite3_bind_double(handle, index, double)
        case .text(let string):
            // SQLITE_TRANSIENT: SQLite copies the bytes before returning, so the Swift buffer
            // only has to live for this call. An empty string must still bind as '' not NULL.
            var string = string
            if string.isEmpty {
                code = sqlite3_bind_text64(handle, index, "", 0, ecd_sqlite_transient(), UInt8(SQLITE_UTF8))
            } else {
                code = string.withUTF8 { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { chars in
                        sqlite3_bind_text64(handle, index, chars.baseAddress, UInt64(chars.count),
                                            ecd_sqlite_transient(), UInt8(SQLITE_UTF8))
                    }
                }
            }
        case .blob(let bytes):
            if bytes.isEmpty {
                // A NULL pointer would bind NULL; a zero-length blob is a distinct value.
                code = sqlite3_bind_zeroblob(handle, index, 0)
            } else {
                code = bytes.withUnsafeBytes { buffer in
                    sqlite3_bind_blob64(handle, index, buffer.baseAddress, UInt64(buffer.count), ecd_sqlite_transient())
                }
            }
        }
        guard code == SQLITE_OK else { throw SQLiteError.current(database, code: code, sql: sql) }
    }

    // MARK: - Stepping

    /// Advances to the next row: true for a row, false when done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SQLiteError.current(database, code: code, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// The current row's values, in column order.
    func row() -> Row {
        let count = sqlite3_column_count(handle)
        var values: [SQLValue] = []
        values.reserveCapacity(Int(count))
        for column in 0..<count { values.append(value(at: column)) }
        return Row(columns: columnNames, values: values)
    }

    private func value(at column: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            // Fetch the pointer before the byte count, as the SQLite docs require.
            guard let text = sqlite3_column_text(handle, column) else { return .text("") }
            let count = Int(sqlite3_column_bytes(handle, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            guard let blob = sqlite3_column_blob(handle, column) else { return .blob([]) }
            let count = Int(sqlite3_column_bytes(handle, column))
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default:
            return .null
        }
    }
}
