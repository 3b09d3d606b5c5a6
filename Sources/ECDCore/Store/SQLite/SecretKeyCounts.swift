import ECDSQLite

/// Secrets per key id, kept current by triggers on every secret column (schema version 6), so
/// that the keyring can be checked against the database without reading it: at start, on a
/// SIGHUP reload and at each `/readyz` probe a dozen-row table is read instead of every row.
///
/// Triggers rather than counting in Swift: they see every write, including those of another
/// process or of a tool (sqlite3, an older ecd) that bypassed the daemon, and they commit or roll
/// back with the write that changed the row. A migration that rebuilds one of these tables
/// (`DROP TABLE`) drops its triggers too and must create them again (`createTriggers`).
enum SecretKeyCounts {
    /// Every secret column, by table: the columns `SecretRewrap` re-seals.
    static var columnsByTable: [(table: String, columns: [String])] {
        SecretRewrap.tables.map { ($0.name, $0.columns) }
    }

    /// The key id of the envelope in `value` (a BLOB expression), in SQL: byte 1 is the version
    /// (1), byte 2 the id's length, then the id. `<unreadable>` for anything else, as the
    /// rewrap's census says. SQLite has no byte-to-integer function: the length byte goes
    /// through its hex digits.
    static func keyID(_ value: String) -> String {
        let digits = "'0123456789ABCDEF'"
        let lengthHex = "hex(substr(\(value), 2, 1))"
        let length = "((instr(\(digits), substr(\(lengthHex), 1, 1)) - 1) * 16 + instr(\(digits), substr(\(lengthHex), 2, 1)) - 1)"
        return "(CASE WHEN substr(\(value), 1, 1) = x'01' AND length(\(value)) > 2 "
            + "THEN CAST(substr(\(value), 3, \(length)) AS TEXT) ELSE '<unreadable>' END)"
    }

    private static func increment(_ value: String) -> String {
        """
        INSERT INTO secret_key_counts (key_id, secrets) SELECT \(keyID(value)), 1 WHERE \(value) IS NOT NULL
            ON CONFLICT (key_id) DO UPDATE SET secrets = secrets + 1;
        """
    }

    private static func decrement(_ value: String) -> String {
        "UPDATE secret_key_counts SET secrets = secrets - 1 WHERE \(value) IS NOT NULL AND key_id = \(keyID(value));"
    }

    /// Three triggers per table: a row inserted counts its secrets, a row deleted uncounts them,
    /// an update of a secret column moves the count from the old envelope's key to the new one's.
    static func createTriggers(table: String, columns: [String]) -> [String] {
        [
            "CREATE TRIGGER secret_keys_\(table)_insert AFTER INSERT ON \(table) BEGIN\n"
                + columns.map { increment("NEW.\($0)") }.joined(separator: "\n") + "\nEND",
            "CREATE TRIGGER secret_keys_\(table)_delete AFTER DELETE ON \(table) BEGIN\n"
                + columns.map { decrement("OLD.\($0)") }.joined(separator: "\n") + "\nEND",
            "CREATE TRIGGER secret_keys_\(table)_update AFTER UPDATE OF \(columns.joined(separator: ", ")) ON \(table) BEGIN\n"
                + columns.map { decrement("OLD.\($0)") + "\n" + increment("NEW.\($0)") }.joined(separator: "\n") + "\nEND",
        ]
    }

    /// Migration 6: the table, its triggers, and the counts of the secrets already stored.
    static var migration: [String] {
        let everySecret = columnsByTable.flatMap { table, columns in
            columns.map { "SELECT \(keyID($0)) AS key_id FROM \(table) WHERE \($0) IS NOT NULL" }
        }.joined(separator: " UNION ALL ")
        return [
            "CREATE TABLE secret_key_counts (key_id TEXT PRIMARY KEY, secrets INTEGER NOT NULL) WITHOUT ROWID",
            "INSERT INTO secret_key_counts (key_id, secrets) SELECT key_id, COUNT(*) FROM (\(everySecret)) GROUP BY key_id",
        ] + columnsByTable.flatMap { createTriggers(table: $0.table, columns: $0.columns) }
    }
}
