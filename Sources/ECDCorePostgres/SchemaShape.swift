/// What two schemas must agree on for the flows to behave the same on both drivers and for a
/// row to copy unchanged: tables, columns (name, order, type family, nullability, default),
/// keys (primary keys, unique constraints and unique indexes: the targets of `ON CONFLICT`),
/// the other indexes (by name), foreign keys and trigger names. Read from a live database by
/// `SchemaShape.read(sqlite:)` and `SchemaShape.read(postgres:)`.
public struct SchemaShape: Sendable, Equatable {
    /// Types as both drivers store and bind them (SQLite's affinity, PostgreSQL's type).
    public enum TypeFamily: Sendable, Hashable, CustomStringConvertible {
        case integer, text, bytes, real, boolean
        case other(String)

        public var description: String {
            switch self {
            case .integer: "integer"
            case .text: "text"
            case .bytes: "bytes"
            case .real: "real"
            case .boolean: "boolean"
            case .other(let name): name
            }
        }
    }

    public struct Column: Sendable, Equatable {
        public var name: String
        public var family: TypeFamily
        public var notNull: Bool
        /// The default's literal without a PostgreSQL cast (`0`, `'x'`), nil when none.
        public var defaultValue: String?
    }

    public struct Index: Sendable, Hashable {
        public var name: String
        public var columns: [String]
        public var unique: Bool
        public var partial: Bool
    }

    public struct ForeignKey: Sendable, Hashable {
        public var columns: [String]
        public var table: String
        public var referencedColumns: [String]
    }

    public struct Table: Sendable, Equatable {
        public var name: String
        public var columns: [Column]
        /// Column lists that are unique (whole-table, not partial): primary key included.
        public var keys: Set<[String]>
        /// Non-unique or partial indexes, which both drivers name alike.
        public var indexes: Set<Index>
        public var foreignKeys: Set<ForeignKey>
        public var triggers: Set<String>
    }

    /// By table name.
    public var tables: [String: Table]

    /// One line per difference, naming the side that has what the other lacks; empty when equal.
    public func differences(from other: SchemaShape, names: (mine: String, theirs: String)) -> [String] {
        var lines: [String] = []
        for name in Set(tables.keys).union(other.tables.keys).sorted() {
            guard let mine = tables[name] else { lines.append("table \(name): only in \(names.theirs)"); continue }
            guard let theirs = other.tables[name] else { lines.append("table \(name): only in \(names.mine)"); continue }
            lines += mine.differences(from: theirs, names: names)
        }
        return lines
    }
}

extension SchemaShape.Table {
    func differences(from other: SchemaShape.Table, names: (mine: String, theirs: String)) -> [String] {
        var lines: [String] = []
        let myColumns = Dictionary(columns.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let theirColumns = Dictionary(other.columns.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for column in columns where theirColumns[column.name] == nil {
            lines.append("\(name).\(column.name): only in \(names.mine)")
        }
        for column in other.columns where myColumns[column.name] == nil {
            lines.append("\(name).\(column.name): only in \(names.theirs)")
        }
        for column in columns {
            guard let their = theirColumns[column.name] else { continue }
            if column.family != their.family {
                lines.append("\(name).\(column.name): \(column.family) in \(names.mine), \(their.family) in \(names.theirs)")
            }
            if column.notNull != their.notNull {
                lines.append("\(name).\(column.name): \(column.notNull ? "NOT NULL" : "nullable") in \(names.mine), "
                    + "\(their.notNull ? "NOT NULL" : "nullable") in \(names.theirs)")
            }
            if column.defaultValue != their.defaultValue {
                lines.append("\(name).\(column.name): default \(column.defaultValue ?? "none") in \(names.mine), "
                    + "\(their.defaultValue ?? "none") in \(names.theirs)")
            }
        }
        let shared = Set(myColumns.keys).intersection(theirColumns.keys)
        if columns.map(\.name).filter(shared.contains) != other.columns.map(\.name).filter(shared.contains) {
            lines.append("\(name): columns in another order")
        }
        func compare<T: Hashable>(_ what: String, _ mine: Set<T>, _ theirs: Set<T>, _ show: (T) -> String) {
            for item in mine.subtracting(theirs).map(show).sorted() { lines.append("\(name): \(what) \(item) only in \(names.mine)") }
            for item in theirs.subtracting(mine).map(show).sorted() { lines.append("\(name): \(what) \(item) only in \(names.theirs)") }
        }
        compare("unique key", keys, other.keys) { "(" + $0.joined(separator: ", ") + ")" }
        compare("index", indexes, other.indexes) {
            "\($0.name)(\($0.columns.joined(separator: ", ")))\($0.unique ? " unique" : "")\($0.partial ? " partial" : "")"
        }
        compare("foreign key", foreignKeys, other.foreignKeys) {
            "(\($0.columns.joined(separator: ", "))) → \($0.table)(\($0.referencedColumns.joined(separator: ", ")))"
        }
        compare("trigger", triggers, other.triggers) { $0 }
        return lines
    }
}
