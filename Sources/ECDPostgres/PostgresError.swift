import ECDCLibPQ
import FoundationEssentials
import ECDText

/// The one error type of ECDPostgres. It carries the SQLSTATE, a message, the constraint, table
/// and column a server error names, and the SQL that failed — never a bound value: the server's
/// DETAIL (which echoes key values) is dropped, and for data exceptions (class 22, whose messages
/// quote the offending input) the message is replaced by a fixed one.
///
/// Match on SQLSTATEs with `catch` patterns; a class pattern (`"23000"`) matches its whole class:
///
///     catch PostgresError.State.uniqueViolation { … }
///     catch PostgresError.Kind.unavailable { … }
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The server refused the statement (see `sqlState`).
        case server
        /// The server cannot be reached, refused the connection, or the connection was lost
        /// (a statement in flight may or may not have been applied). Retry later.
        case unavailable
        /// A statement did not answer within `statementTimeout`; it was cancelled.
        case timeout
        /// No pooled connection became free within `borrowTimeout`.
        case poolTimeout
        /// A programming error caught by this wrapper (closed pool, wrong use).
        case misuse
        /// A column did not hold the type asked for, or the server sent something unreadable.
        case decoding

        /// `Kind` as a pattern against any error, for `catch PostgresError.Kind.unavailable`.
        public static func ~= (pattern: Kind, error: any Error) -> Bool {
            (error as? PostgresError)?.kind == pattern
        }
    }

    public let kind: Kind
    /// The five-character SQLSTATE, when the server sent one.
    public let sqlState: String?
    public let message: String
    public let constraint: String?
    public let table: String?
    public let column: String?
    /// The statement that failed, if any. Never contains bound values.
    public let sql: String?

    public init(kind: Kind, sqlState: String? = nil, message: String, constraint: String? = nil,
                table: String? = nil, column: String? = nil, sql: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.constraint = constraint
        self.table = table
        self.column = column
        self.sql = sql
    }

    public var state: State? { sqlState.map(State.init(rawValue:)) }

    public var description: String {
        var text = "PostgreSQL \(kind)"
        if let sqlState { text += " \(sqlState)" }
        text += ": \(message)"
        if let constraint { text += " (constraint \(constraint))" }
        if let sql { text += " — SQL: \(sql)" }
        return text
    }

    /// A SQLSTATE usable as a pattern. A class code (ending in "000") matches its whole class.
    public struct State: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let integrityConstraintViolation = State(rawValue: "23000")
        public static let notNullViolation = State(rawValue: "23502")
        public static let foreignKeyViolation = State(rawValue: "23503")
        public static let uniqueViolation = State(rawValue: "23505")
        public static let checkViolation = State(rawValue: "23514")
        public static let dataException = State(rawValue: "22000")
        public static let serializationFailure = State(rawValue: "40001")
        public static let deadlockDetected = State(rawValue: "40P01")
        public static let undefinedTable = State(rawValue: "42P01")
        public static let syntaxError = State(rawValue: "42601")
        public static let queryCanceled = State(rawValue: "57014")

        public static func ~= (pattern: State, state: State) -> Bool {
            if pattern.rawValue == state.rawValue { return true }
            return pattern.rawValue.hasSuffix("000") && pattern.rawValue.prefix(2) == state.rawValue.prefix(2)
        }

        /// `State` as a pattern against any error, for `catch PostgresError.State.uniqueViolation`.
        public static func ~= (pattern: State, error: any Error) -> Bool {
            guard let state = (error as? PostgresError)?.state else { return false }
            return pattern ~= state
        }
    }
}

extension PostgresError {
    static func misuse(_ message: String, sql: String? = nil) -> PostgresError {
        PostgresError(kind: .misuse, message: message, sql: sql)
    }

    static func unavailable(_ message: String, sql: String? = nil) -> PostgresError {
        PostgresError(kind: .unavailable, message: message, sql: sql)
    }

    /// SQLSTATEs that mean "the server is going away or not there yet", not "your SQL is wrong":
    /// connection exceptions (08), shutdown and startup (57P01–57P03), too many connections.
    static func isUnavailableState(_ state: String) -> Bool {
        state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(state)
    }

    /// The error of a failed result. `connectionLost` comes from the caller, who knows whether
    /// the connection survived.
    static func fromResult(_ result: OpaquePointer, sql: String?, connectionLost: Bool) -> PostgresError {
        func field(_ code: Int32) -> String? {
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        let state = field(ecd_pg_diag_sqlstate())
        var message = field(ecd_pg_diag_message_primary())
            ?? firstLine(PQresultErrorMessage(result).map { String(cString: $0) } ?? "")
        let datatype = field(ecd_pg_diag_datatype_name())
        if let state, state.hasPrefix("22") {
            // Data exceptions quote the input ("invalid input syntax for type integer: \"…\"").
            message = "invalid value" + (datatype.map { " for type \($0)" } ?? "")
        }
        let lost = connectionLost || state.map(isUnavailableState) == true
        return PostgresError(kind: lost ? .unavailable : .server, sqlState: state,
                             message: message.isEmpty ? "unknown error" : message,
                             constraint: field(ecd_pg_diag_constraint_name()),
                             table: field(ecd_pg_diag_table_name()),
                             column: field(ecd_pg_diag_column_name()), sql: sql)
    }

    /// The connection-level error libpq reports now (lost socket, refused connection…).
    static func fromConnection(_ connection: OpaquePointer?, sql: String?) -> PostgresError {
        let text = connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? ""
        let line = firstLine(text)
        return unavailable(line.isEmpty ? "connection to the database lost" : line, sql: sql)
    }

    private static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n", omittingEmptySubsequences: true).first ?? "")
            .trimmingSpaces()
    }
}
