import ECDCrypto
import ECDSQLite

/// `ecd keys rewrap`: re-seals every secret column with the keyring's primary key, so an old key
/// can then be dropped from the keyring. Runs in one transaction: all rows move or none.
public enum SecretRewrap {
    struct Column {
        let table: String
        let rowKey: String      // the column naming the row in the associated data
        let column: String
    }

    static let columns = [
        Column(table: "service_accounts", rowKey: "id", column: "access_token"),
        Column(table: "service_accounts", rowKey: "id", column: "refresh_token"),
        Column(table: "accounts", rowKey: "id", column: "access_token"),
        Column(table: "accounts", rowKey: "id", column: "refresh_token"),
        Column(table: "accounts", rowKey: "id", column: "state"),
        Column(table: "callback_inbox", rowKey: "request_id", column: "code"),
    ]

    public static func run(database: Database, keyring: Keyring) throws -> RewrapReport {
        let box = SecretBox(keyring: keyring)
        return try database.write { connection in
            var rewrapped: [String: Int] = [:]
            var current = 0
            for column in columns {
                let rows = try connection.query(
                    "SELECT \(column.rowKey) AS row_key, \(column.column) AS secret FROM \(column.table) WHERE \(column.column) IS NOT NULL")
                for row in rows {
                    let rowKey: String
                    switch row["row_key"] {
                    case .integer(let value): rowKey = String(value)
                    case .text(let value): rowKey = value
                    default: continue
                    }
                    let envelope: [UInt8] = try row.get("secret")
                    guard let sealed = try box.rewrapped(envelope, table: column.table, row: rowKey, column: column.column) else {
                        current += 1
                        continue
                    }
                    try connection.execute(
                        "UPDATE \(column.table) SET \(column.column) = ? WHERE \(column.rowKey) = ?", [sealed, row["row_key"]])
                    rewrapped[column.table, default: 0] += 1
                }
                if column.column != "state" && column.column != "code" {
                    try connection.execute(
                        "UPDATE \(column.table) SET key_id = ? WHERE \(column.column) IS NOT NULL", [keyring.primaryKeyID])
                }
            }
            return RewrapReport(rewrapped: rewrapped, alreadyCurrent: current)
        }
    }
}
