import ECDCSQLite

/// The one error type of ECDSQLite: SQLite's extended result code, its message, and the SQL that
/// failed. Bound values are never part of it, so secrets written through parameters cannot leak
/// into logs through an error.
///
/// Match on codes with `catch` patterns; a primary code matches all of its extended codes:
///
///     catch SQLiteError.Code.constraint { … }       // any SQLITE_CONSTRAINT_*
///     catch SQLiteError.Code.constraintUnique { … } // only SQLITE_CONSTRAINT_UNIQUE
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE` = 2067, …).
    public let code: Int32
    /// `sqlite3_errmsg` at the time of failure, or a message of this wrapper for misuse.
    public let message: String
    /// The statement that failed, if any. Never contains bound values.
    public let sql: String?

    public init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code (`code & 0xff`).
    public var primaryCode: Int32 { code & 0xff }

    public var resultCode: Code { Code(rawValue: code) }

    public var description: String {
        let name = String(cString: sqlite3_errstr(code))
        var text = "SQLite error \(code) (\(name)): \(message)"
        if let sql { text += " — SQL: \(sql)" }
        return text
    }

    /// A result code usable as a pattern. Primary codes match every extended code they head.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public var primary: Code { Code(rawValue: rawValue & 0xff) }

        public static let error = Code(rawValue: SQLITE_ERROR)
        public static let abort = Code(rawValue: SQLITE_ABORT)
        public static let busy = Code(rawValue: SQLITE_BUSY)
        public static let locked = Code(rawValue: SQLITE_LOCKED)
        public static let readonly = Code(rawValue: SQLITE_READONLY)
        public static let ioError = Code(rawValue: SQLITE_IOERR)
        public static let corrupt = Code(rawValue: SQLITE_CORRUPT)
        public static let full = Code(rawValue: SQLITE_FULL)
        public static let cantOpen = Code(rawValue: SQLITE_CANTOPEN)
        public static let constraint = Code(rawValue: SQLITE_CONSTRAINT)
        public static let mismatch = Code(rawValue: SQLITE_MISMATCH)
        public static let misuse = Code(rawValue: SQLITE_MISUSE)
        public static let range = Code(rawValue: SQLITE_RANGE)
        public static let notADatabase = Code(rawValue: SQLITE_NOTADB)
        public static let constraintUnique = Code(rawValue: SQLITE_CONSTRAINT | (8 << 8))
        public static let constraintPrimaryKey = Code(rawValue: SQLITE_CONSTRAINT | (6 << 8))
        public static let constraintForeignKey = Code(rawValue: SQLITE_CONSTRAINT | (3 << 8))
        public static let constraintNotNull = Code(rawValue: SQLITE_CONSTRAINT | (5 << 8))
        public static let constraintCheck = Code(rawValue: SQLITE_CONSTRAINT | (1 << 8))

        /// `Code` as a pattern against a `Code`: a primary pattern matches its extended codes.
        public static func ~= (pattern: Code, code: Code) -> Bool {
            pattern.rawValue == code.rawValue
                || (pattern.rawValue == pattern.primary.rawValue && pattern.rawValue == code.primary.rawValue)
        }

        /// `Code` as a pattern against any error, for `catch SQLiteError.Code.busy`.
        public static func ~= (pattern: Code, error: any Error) -> Bool {
            guard let error = error as? SQLiteError else { return false }
            return pattern ~= error.resultCode
        }
    }
}

extension SQLiteError {
    /// The error SQLite reports for `handle` right now, tagged with `sql`.
    static func current(_ handle: OpaquePointer?, code: Int32, sql: String?) -> SQLiteError {
        let message = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(code))
        return SQLiteError(code: code, message: message, sql: sql)
    }

    /// A programming error caught by this wrapper (wrong argument count, unknown parameter…).
    static func misuse(_ message: String, sql: String?) -> SQLiteError {
        SQLiteError(code: SQLITE_MISUSE, message: message, sql: sql)
    }
}
