import ECDCLibPQ

/// One result row, copied out of the `PGresult` so it stays valid after the result is cleared.
public struct PostgresRow: Sendable {
    public let columns: [String]
    public let values: [PostgresValue]

    init(columns: [String], values: [PostgresValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of `column`, or `.null` when there is no such column.
    public subscript(_ column: String) -> PostgresValue {
        guard let index = index(of: column) else { return .null }
        return values[index]
    }

    /// The value at a 0-based column position.
    public subscript(_ index: Int) -> PostgresValue { values[index] }

    /// The value of `column` as `T`. Throws when the column is missing, NULL (unless `T` is an
    /// Optional) or of another type; the error names the column and types, never the value.
    public func get<T: PostgresValueConvertible>(_ column: String) throws -> T {
        guard let index = index(of: column) else {
            throw PostgresError(kind: .decoding, message: "no column named \(column)")
        }
        guard let value = T(postgresValue: values[index]) else {
            throw PostgresError(kind: .decoding,
                                message: "column \(column) holds \(values[index].typeName), not \(T.self)")
        }
        return value
    }

    /// The value of `column` as `T`, or nil when missing, NULL, or of another type.
    public func optional<T: PostgresValueConvertible>(_ column: String) -> T? {
        guard let index = index(of: column) else { return nil }
        return T(postgresValue: values[index])
    }

    private func index(of column: String) -> Int? {
        // Rows have few columns: a linear scan beats building a dictionary per row.
        if let exact = columns.firstIndex(of: column) { return exact }
        let lowered = column.lowercased()   // unquoted identifiers fold to lower case
        return columns.firstIndex { $0 == lowered }
    }
}

/// Owns one `PGresult`, cleared in `deinit`, and turns its text-format cells into values.
final class ResultHandle {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { PQclear(pointer) }

    /// Rows changed by an INSERT, UPDATE or DELETE (0 for other statements).
    var affectedRows: Int { Int(String(cString: PQcmdTuples(pointer))) ?? 0 }

    func rows() throws -> [PostgresRow] {
        let rowCount = PQntuples(pointer)
        let columnCount = PQnfields(pointer)
        guard rowCount > 0 else { return [] }
        let names = (0..<columnCount).map { String(cString: PQfname(pointer, $0)) }
        let types = (0..<columnCount).map { PQftype(pointer, $0) }
        var rows: [PostgresRow] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var values: [PostgresValue] = []
            values.reserveCapacity(Int(columnCount))
            for column in 0..<columnCount {
                values.append(try value(row: row, column: column, type: types[Int(column)], name: names[Int(column)]))
            }
            rows.append(PostgresRow(columns: names, values: values))
        }
        return rows
    }

    private func value(row: Int32, column: Int32, type: Oid, name: String) throws -> PostgresValue {
        if PQgetisnull(pointer, row, column) != 0 { return .null }
        let length = Int(PQgetlength(pointer, row, column))
        let bytes = UnsafeRawBufferPointer(start: PQgetvalue(pointer, row, column), count: length)
        let text = String(decoding: bytes, as: UTF8.self)
        func undecodable() -> PostgresError {
            // Names the column and type only: the cell may hold a secret.
            PostgresError(kind: .decoding, message: "column \(name) of type oid \(type) could not be read")
        }
        switch type {
        case TypeOID.int2, TypeOID.int4, TypeOID.int8, TypeOID.oid:
            guard let int = Int64(text) else { throw undecodable() }
            return .integer(int)
        case TypeOID.float4, TypeOID.float8:
            guard let double = TextFormat.double(text) else { throw undecodable() }
            return .real(double)
        case TypeOID.bool:
            return .bool(text == "t")
        case TypeOID.bytea:
            guard let decoded = TextFormat.bytea(bytes) else { throw undecodable() }
            return .bytes(decoded)
        default:
            // text, varchar, numeric, json, timestamps…: their text form, unconverted.
            return .text(text)
        }
    }
}

/// The type OIDs this module decodes (pg_type.dat; fixed since PostgreSQL 7).
enum TypeOID {
    static let bool: Oid = 16
    static let bytea: Oid = 17
    static let int8: Oid = 20
    static let int2: Oid = 21
    static let int4: Oid = 23
    static let oid: Oid = 26
    static let float4: Oid = 700
    static let float8: Oid = 701
}

/// PostgreSQL's text formats for the values this module sends and reads.
enum TextFormat {
    static func double(_ text: String) -> Double? {
        switch text {
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }

    /// The text form of a double that reads back exactly (Swift prints the shortest such form).
    static func text(_ double: Double) -> String {
        if double.isNaN { return "NaN" }
        if double.isInfinite { return double < 0 ? "-Infinity" : "Infinity" }
        return "\(double)"
    }

    /// `\x` followed by hex digits (`bytea_output = hex`, the default since 9.0).
    static func bytea(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        guard bytes.count >= 2, bytes[0] == 0x5C, bytes[1] == 0x78, bytes.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity((bytes.count - 2) / 2)
        var index = 2
        while index < bytes.count {
            guard let high = nibble(bytes[index]), let low = nibble(bytes[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x61...0x66: return byte - 0x61 + 10
        case 0x41...0x46: return byte - 0x41 + 10
        default: return nil
        }
    }
}
