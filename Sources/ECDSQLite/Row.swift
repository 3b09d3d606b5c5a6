import ECDCSQLite

/// One result row, copied out of SQLite so it stays valid after the statement moves on.
public struct Row: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of `column`, or `.null` when there is no such column.
    public subscript(_ column: String) -> SQLValue {
        guard let index = index(of: column) else { return .null }
        return values[index]
    }

    /// The value at a 0-based column position.
    public subscript(_ index: Int) -> SQLValue { values[index] }

    /// The value of `column` as `T`. Throws when the column is missing, NULL (unless `T` is an
    /// Optional) or of another type; the error names the column, not the value.
    public func get<T: SQLValueConvertible>(_ column: String) throws -> T {
        guard let index = index(of: column) else {
            throw SQLiteError.misuse("no column named \(column)", sql: nil)
        }
        guard let value = T(sqlValue: values[index]) else {
            throw SQLiteError(code: SQLITE_MISMATCH,
                              message: "column \(column) holds \(values[index].typeName), not \(T.self)", sql: nil)
        }
        return value
    }

    /// The value of `column` as `T`, or nil when missing, NULL, or of another type.
    public func optional<T: SQLValueConvertible>(_ column: String) -> T? {
        guard let index = index(of: column) else { return nil }
        return T(sqlValue: values[index])
    }

    private func index(of column: String) -> Int? {
        // Rows have few columns: a linear scan beats building a dictionary per row.
        if let exact = columns.firstIndex(of: column) { return exact }
        let lowered = column.lowercased()   // SQLite column names are case-insensitive
        return columns.firstIndex { $0.lowercased() == lowered }
    }
}

extension SQLValue {
    var typeName: String {
        switch self {
        case .null: return "NULL"
        case .integer: return "INTEGER"
        case .real: return "REAL"
        case .text: return "TEXT"
        case .blob: return "BLOB"
        }
    }
}
