import FoundationEssentials

/// One PostgreSQL value as ecd uses them. Mirrors ECDSQLite's `SQLValue` (plus a real boolean),
/// so the same Swift types bind to both drivers and a row copies from one to the other unchanged.
public enum PostgresValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case bool(Bool)
    case text(String)
    case bytes([UInt8])

    var typeName: String {
        switch self {
        case .null: return "NULL"
        case .integer: return "integer"
        case .real: return "real"
        case .bool: return "boolean"
        case .text: return "text"
        case .bytes: return "bytea"
        }
    }
}

/// A Swift type that binds to and reads from one PostgreSQL value.
///
/// `init?(postgresValue:)` returns nil when the value has another type; it never converts between
/// text and numbers, so a schema mistake shows up as an error instead of a silent coercion.
public protocol PostgresValueConvertible {
    var postgresValue: PostgresValue { get }
    init?(postgresValue: PostgresValue)
}

extension PostgresValue: PostgresValueConvertible {
    public var postgresValue: PostgresValue { self }
    public init?(postgresValue: PostgresValue) { self = postgresValue }
}

extension Int64: PostgresValueConvertible {
    public var postgresValue: PostgresValue { .integer(self) }
    public init?(postgresValue: PostgresValue) {
        guard case .integer(let value) = postgresValue else { return nil }
        self = value
    }
}

extension Int: PostgresValueConvertible {
    public var postgresValue: PostgresValue { .integer(Int64(self)) }
    public init?(postgresValue: PostgresValue) {
        guard case .integer(let value) = postgresValue, let int = Int(exactly: value) else { return nil }
        self = int
    }
}

extension Double: PostgresValueConvertible {
    public var postgresValue: PostgresValue { .real(self) }
    public init?(postgresValue: PostgresValue) {
        switch postgresValue {
        case .real(let value): self = value
        case .integer(let value): self = Double(value)
        default: return nil
        }
    }
}

extension Bool: PostgresValueConvertible {
    public var postgresValue: PostgresValue { .bool(self) }
    public init?(postgresValue: PostgresValue) {
        guard case .bool(let value) = postgresValue else { return nil }
        self = value
    }
}

extension String: PostgresValueConvertible {
    public var postgresValue: PostgresValue { .text(self) }
    public init?(postgresValue: PostgresValue) {
        guard case .text(let value) = postgresValue else { return nil }
        self = value
    }
}

extension Array: PostgresValueConvertible where Element == UInt8 {
    public var postgresValue: PostgresValue { .bytes(self) }
    public init?(postgresValue: PostgresValue) {
        guard case .bytes(let value) = postgresValue else { return nil }
        self = value
    }
}

extension Data: PostgresValueConvertible {
    public var postgresValue: PostgresValue { .bytes([UInt8](self)) }
    public init?(postgresValue: PostgresValue) {
        guard case .bytes(let value) = postgresValue else { return nil }
        self = Data(value)
    }
}

/// Dates are BIGINT milliseconds since 1970-01-01 UTC, as in ECDSQLite: the two drivers then
/// share one schema shape and a migration between them copies integers, not reformatted times.
extension Date: PostgresValueConvertible {
    public var postgresValue: PostgresValue {
        .integer(Int64((timeIntervalSince1970 * 1000).rounded(.down)))
    }
    public init?(postgresValue: PostgresValue) {
        guard case .integer(let milliseconds) = postgresValue else { return nil }
        self = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

/// `nil` binds NULL; reading NULL gives `.some(nil)`, and a value of the wrong type gives nil.
extension Optional: PostgresValueConvertible where Wrapped: PostgresValueConvertible {
    public var postgresValue: PostgresValue { self?.postgresValue ?? .null }
    public init?(postgresValue: PostgresValue) {
        if case .null = postgresValue {
            self = .none
            return
        }
        guard let wrapped = Wrapped(postgresValue: postgresValue) else { return nil }
        self = .some(wrapped)
    }
}
