import ECDCrypto
import ECDPostgres
import FoundationEssentials

/// `PostgresStorage.rewrap`: `SecretRewrap` for PostgreSQL, over the same tables and columns
/// (`SecretRewrap.tables`). Batches of rows, one short transaction each, every row of a batch
/// read `FOR UPDATE` so a row a node changes meanwhile is never overwritten with a stale copy.
/// No pause between batches: PostgreSQL locks rows, not the database, so the daemon's writes to
/// other rows never wait for a batch.
enum PostgresRewrap {
    static func run(pool: PostgresPool, keyring: Keyring,
                    batchSize: Int = SecretRewrap.defaultBatchSize) async throws -> RewrapReport {
        let box = SecretBox(keyring: keyring)
        let limit = max(1, batchSize)
        var report = RewrapReport(rewrapped: [:], alreadyCurrent: 0)
        for table in SecretRewrap.tables {
            var cursor: PostgresValue?
            while true {
                let after = cursor
                let (batch, delta) = try await pool.asyncWrite { connection in
                    var delta = RewrapReport(rewrapped: [:], alreadyCurrent: 0)
                    let batch = try rewrapBatch(connection, table: table, after: after, limit: limit, box: box, report: &delta)
                    return (batch, delta)
                }
                report.merge(delta)
                report.batches += 1
                guard let last = batch.last else { break }
                cursor = last
                if batch.rows < limit { continue }
            }
        }
        report.secretsByKeyID = try await pool.asyncRead { try census($0) }
        return report
    }

    private static func rewrapBatch(_ connection: PostgresConnection, table: SecretRewrap.Table, after cursor: PostgresValue?,
                                    limit: Int, box: SecretBox,
                                    report: inout RewrapReport) throws -> (rows: Int, last: PostgresValue?) {
        let anySecret = table.columns.map { "\($0) IS NOT NULL" }.joined(separator: " OR ")
        let selected = ([table.primaryKey + " AS page_key", table.rowKey + " AS row_key"] + table.columns
            + (table.hasKeyID ? ["key_id"] : [])).joined(separator: ", ")
        let rows = try connection.query(
            "SELECT \(selected) FROM \(table.name) WHERE (\(anySecret))"
                + (cursor == nil ? "" : " AND \(table.primaryKey) > $2")
                + " ORDER BY \(table.primaryKey) LIMIT $1 FOR UPDATE",
            [Int64(limit)] + (cursor.map { [$0] } ?? []))
        for row in rows {
            let rowKey: String
            switch row["row_key"] {
            case .integer(let value): rowKey = String(value)
            case .text(let value): rowKey = value
            default: continue
            }
            var assignments: [String] = []
            var values: [any PostgresValueConvertible] = []
            for column in table.columns {
                guard case .bytes(let envelope) = row[column] else { continue }
                let previousKeyID = Keyring.keyID(ofEnvelope: envelope) ?? "<unreadable>"
                guard let sealed = try box.rewrapped(envelope, table: table.name, row: rowKey, column: column) else {
                    report.alreadyCurrent += 1
                    continue
                }
                values.append(PostgresValue.bytes(sealed))
                assignments.append("\(column) = $\(values.count)")
                report.rewrapped[table.name, default: 0] += 1
                report.rewrappedFromKeyIDs[previousKeyID, default: 0] += 1
            }
            if table.hasKeyID, row["key_id"] != .text(box.keyring.primaryKeyID),
               table.columns.contains(where: { column in column != "state" && row[column] != .null }) {
                values.append(box.keyring.primaryKeyID)
                assignments.append("key_id = $\(values.count)")
            }
            guard !assignments.isEmpty else { continue }
            values.append(row["page_key"])
            try connection.execute(
                "UPDATE \(table.name) SET \(assignments.joined(separator: ", ")) WHERE \(table.primaryKey) = $\(values.count)",
                values)
        }
        return (rows.count, rows.last?["page_key"])
    }

    /// Secrets per key id as stored now (from the envelopes' headers, nothing decrypted).
    static func census(_ connection: PostgresConnection) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in SecretRewrap.tables {
            for column in table.columns {
                for row in try connection.query("SELECT \(column) AS secret FROM \(table.name) WHERE \(column) IS NOT NULL") {
                    guard case .bytes(let envelope) = row["secret"] else { continue }
                    counts[Keyring.keyID(ofEnvelope: envelope) ?? "<unreadable>", default: 0] += 1
                }
            }
        }
        return counts
    }
}

extension RewrapReport {
    /// Adds a batch's counts (a batch counts into its own report, so a retried one counts once).
    mutating func merge(_ other: RewrapReport) {
        alreadyCurrent += other.alreadyCurrent
        for (table, count) in other.rewrapped { rewrapped[table, default: 0] += count }
        for (key, count) in other.rewrappedFromKeyIDs { rewrappedFromKeyIDs[key, default: 0] += count }
    }
}
