import ECDCorePostgres
import ECDPostgres
import ECDSQLite
import Foundation

/// A value a test binds: one type both drivers bind alike.
typealias TestArgument = any SQLValueConvertible & PostgresValueConvertible & Sendable

/// One cell as a test reads it, whichever driver: PostgreSQL's booleans read as 0/1 integers,
/// as SQLite has them.
enum TestCell: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case bytes([UInt8])

    var int: Int64? { if case .integer(let value) = self { return value } else { return nil } }
    var text: String? { if case .text(let value) = self { return value } else { return nil } }
    var date: Date? { int.map { Date(timeIntervalSince1970: Double($0) / 1000) } }
}

/// Tests that look at rows themselves (what is stored, a state set up by hand) do it through
/// these, on whichever database the harness runs: SQL both read alike, with `?` placeholders
/// (numbered `$n` for PostgreSQL here).
extension Harness {
    func rows(_ sql: String, _ arguments: [TestArgument] = []) async throws -> [[String: TestCell]] {
        switch driver {
        case .sqlite:
            return try await database.asyncRead { connection in
                try connection.query(sql, arguments.map { $0 as any SQLValueConvertible }).map { row in
                    var cells: [String: TestCell] = [:]
                    for (name, value) in zip(row.columns, row.values) {
                        switch value {
                        case .null: cells[name] = .null
                        case .integer(let int): cells[name] = .integer(int)
                        case .real(let double): cells[name] = .real(double)
                        case .text(let text): cells[name] = .text(text)
                        case .blob(let bytes): cells[name] = .bytes(bytes)
                        }
                    }
                    return cells
                }
            }
        case .postgres:
            let numbered = Self.numbered(sql)
            return try await pool.asyncRead { connection in
                try connection.query(numbered, arguments.map { $0 as any PostgresValueConvertible }).map { row in
                    var cells: [String: TestCell] = [:]
                    for (name, value) in zip(row.columns, row.values) {
                        switch value {
                        case .null: cells[name] = .null
                        case .integer(let int): cells[name] = .integer(int)
                        case .real(let double): cells[name] = .real(double)
                        case .bool(let bool): cells[name] = .integer(bool ? 1 : 0)
                        case .text(let text): cells[name] = .text(text)
                        case .bytes(let bytes): cells[name] = .bytes(bytes)
                        }
                    }
                    return cells
                }
            }
        }
    }

    /// The first row's `column` (nil: no row).
    func cell(_ sql: String, _ arguments: [TestArgument] = [], column: String = "n") async throws -> TestCell? {
        try await rows(sql, arguments).first.map { $0[column] ?? .null }
    }

    /// Runs one statement in a transaction of its own.
    func execute(_ sql: String, _ arguments: [TestArgument] = []) async throws {
        switch driver {
        case .sqlite:
            try await database.asyncWrite { connection in
                try connection.execute(sql, arguments.map { $0 as any SQLValueConvertible })
            }
        case .postgres:
            let numbered = Self.numbered(sql)
            try await pool.asyncWrite { connection in
                _ = try connection.execute(numbered, arguments.map { $0 as any PostgresValueConvertible })
            }
        }
    }

    /// Everything the database stores, as bytes to search for secrets: SQLite's file and its WAL;
    /// for PostgreSQL every row of every core table as JSON (byte columns in their hex form, so a
    /// secret sealed in one cannot match, while one stored in clear in any column would) and the
    /// server's log. Works whether the facade is open or closed.
    func storedBytes() async throws -> [UInt8] {
        guard case .postgres(let server, _) = storage, let pool = try storage.postgresPool() else { return databaseBytes() }
        defer { pool.close() }
        var bytes = try await pool.asyncRead { connection -> [UInt8] in
            var bytes: [UInt8] = []
            for table in CorePostgresSchema.tables {
                let dump = try connection.queryOne(
                    "SELECT COALESCE(string_agg(row_to_json(t)::text, E'\\n'), '') AS dump FROM \(table) t")?
                    .optional("dump") as String?
                bytes += Array((dump ?? "").utf8)
            }
            return bytes
        }
        if let log = FileManager.default.contents(atPath: server.directory + "/server.log") { bytes += log }
        return bytes
    }

    /// `?` → `$1, $2, …` (outside quoted text).
    static func numbered(_ sql: String) -> String {
        var result = ""
        var count = 0
        var quoted = false
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?", !quoted {
                count += 1
                result += "$\(count)"
            } else {
                result.append(character)
            }
        }
        return result
    }
}
