import ECDCrypto
import ECDSQLite
import FoundationEssentials
import ECDSync

/// `ecd keys rewrap`: re-seals every secret column with the keyring's primary key, so an old key
/// can then be dropped from the keyring.
///
/// It works in batches of a few hundred rows, one short write transaction each, because a
/// running daemon shares the database and waits at most its busy timeout (5 s) for the write
/// lock: one transaction over a large table would make its callbacks and refreshes fail. Each
/// batch reads and re-seals its rows inside its own transaction, so a row the daemon changes in
/// between is never overwritten with a stale copy. A secret already under the primary key is left
/// alone, so an interrupted run is finished by running it again.
///
/// Short transactions alone are not enough: SQLite's lock is not fair, and a waiting writer only
/// polls (every 100 ms at most), so back-to-back batches could starve the daemon for its whole
/// busy timeout. After each full batch the rewrap pauses as long as the batch took, 50 ms at
/// least: the write lock is free at least half the time, and every poll has that chance.
public enum SecretRewrap {
    struct Table {
        let name: String
        let rowKey: String      // the column naming the row in the associated data
        let columns: [String]
        let hasKeyID: Bool      // a `key_id` column naming the key of the row's tokens
        /// The primary key: batches page through it and updates name the row by it. Not always
        /// `rowKey`: several inbox rows may share a request id (and so their associated data).
        var pageKey: String? = nil
        var primaryKey: String { pageKey ?? rowKey }
    }

    static let tables = [
        Table(name: "service_accounts", rowKey: "id", columns: ["access_token", "refresh_token"], hasKeyID: true),
        Table(name: "accounts", rowKey: "id", columns: ["access_token", "refresh_token", "state"], hasKeyID: true),
        Table(name: "callback_inbox", rowKey: "request_id", columns: ["code"], hasKeyID: false, pageKey: "id"),
    ]

    /// Rows per transaction: each holds the write lock for milliseconds.
    public static let defaultBatchSize = 250
    /// The shortest pause after a full batch.
    public static let minimumPause: Duration = .milliseconds(50)

    public static func run(database: Database, keyring: Keyring, batchSize: Int = defaultBatchSize,
                           minimumPause: Duration = minimumPause) throws -> RewrapReport {
        let box = SecretBox(keyring: keyring)
        let limit = max(1, batchSize)
        var report = RewrapReport(rewrapped: [:], alreadyCurrent: 0)
        let clock = ContinuousClock()
        for table in tables {
            var cursor: SQLValue?
            while true {
                let started = clock.now
                let batch = try database.write { connection in
                    try rewrapBatch(connection, table: table, after: cursor, limit: limit, box: box, report: &report)
                }
                report.batches += 1
                guard let last = batch.last else { break }
                cursor = last
                // A short batch was the table's last: no one to make room for.
                guard batch.rows == limit else { continue }
                let pause = max(minimumPause, clock.now - started)
                OSThread.sleep(pause)
            }
        }
        report.secretsByKeyID = try census(database)
        return report
    }

    /// Re-seals the next `limit` rows holding a secret after `cursor`; returns how many rows it
    /// read and the last row key (nil when the table has no more rows).
    private static func rewrapBatch(_ connection: Connection, table: Table, after cursor: SQLValue?, limit: Int,
                                    box: SecretBox, report: inout RewrapReport) throws -> (rows: Int, last: SQLValue?) {
        let anySecret = table.columns.map { "\($0) IS NOT NULL" }.joined(separator: " OR ")
        let selected = ([table.primaryKey + " AS page_key", table.rowKey + " AS row_key"] + table.columns
            + (table.hasKeyID ? ["key_id"] : [])).joined(separator: ", ")
        let rows = try connection.query(
            "SELECT \(selected) FROM \(table.name) WHERE (\(anySecret))"
                + (cursor == nil ? "" : " AND \(table.primaryKey) > ?")
                + " ORDER BY \(table.primaryKey) LIMIT ?",
            (cursor.map { [$0] } ?? []) + [Int64(limit)])
        for row in rows {
            let rowKey: String
            switch row["row_key"] {
            case .integer(let value): rowKey = String(value)
            case .text(let value): rowKey = value
            default: continue
            }
            var assignments: [String] = []
            var values: [any SQLValueConvertible] = []
            for column in table.columns {
                guard case .blob(let envelope) = row[column] else { continue }
                let previousKeyID = Keyring.keyID(ofEnvelope: envelope) ?? "<unreadable>"
                guard let sealed = try box.rewrapped(envelope, table: table.name, row: rowKey, column: column) else {
                    report.alreadyCurrent += 1
                    continue
                }
                assignments.append("\(column) = ?")
                values.append(SQLValue.blob(sealed))
                report.rewrapped[table.name, default: 0] += 1
                report.rewrappedFromKeyIDs[previousKeyID, default: 0] += 1
            }
            if table.hasKeyID, row["key_id"] != .text(box.keyring.primaryKeyID),
               table.columns.contains(where: { column in column != "state" && row[column] != .null }) {
                assignments.append("key_id = ?")
                values.append(box.keyring.primaryKeyID)
            }
            guard !assignments.isEmpty else { continue }
            try connection.execute(
                "UPDATE \(table.name) SET \(assignments.joined(separator: ", ")) WHERE \(table.primaryKey) = ?",
                values + [row["page_key"]])
        }
        return (rows.count, rows.last?["page_key"])
    }

    /// Key ids in use (`secret_key_counts`, kept by triggers) that `keyring` cannot open: the
    /// check at start, before the facade is made.
    public static func keysMissing(from keyring: Keyring, in database: Database) throws -> [String: Int] {
        let known = Set(keyring.keyIDs)
        return try database.read { try SQLiteStore(connection: $0).keyIDsInUse() }.filter { !known.contains($0.key) }
    }

    /// Secrets per key id as stored now (read from the envelopes' headers, nothing decrypted): the
    /// old key may be removed once it no longer appears here.
    static func census(_ database: Database) throws -> [String: Int] {
        try database.read { connection in
            var counts: [String: Int] = [:]
            for table in tables {
                for column in table.columns {
                    for row in try connection.query("SELECT \(column) AS secret FROM \(table.name) WHERE \(column) IS NOT NULL") {
                        guard case .blob(let envelope) = row["secret"] else { continue }
                        counts[Keyring.keyID(ofEnvelope: envelope) ?? "<unreadable>", default: 0] += 1
                    }
                }
            }
            return counts
        }
    }
}
