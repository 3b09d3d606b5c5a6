/// `secret_key_counts` kept current by triggers, as SQLite's schema version 6 does
/// (`ECDCore.SecretKeyCounts`): secrets per key id, so the keyring can be checked against the
/// database without reading every row. Same trigger names, same counting rule, in PL/pgSQL.
///
/// One difference on purpose: an update that re-seals a secret under the key it already had (every
/// token refresh) leaves the count alone instead of decrementing and incrementing it. The result is
/// the same, but the count's row is not written, so nodes refreshing tokens at once do not queue
/// on that one row's lock until their transactions end.
enum CorePostgresTriggers {
    /// The secret columns by table: those `SecretRewrap` re-seals.
    static let columnsByTable: [(table: String, columns: [String])] = [
        ("service_accounts", ["access_token", "refresh_token"]),
        ("accounts", ["access_token", "refresh_token", "state"]),
        ("callback_inbox", ["code"]),
    ]

    static var version1: [String] {
        functions + columnsByTable.flatMap { triggers(table: $0.table, columns: $0.columns) }
    }

    /// The key id of a `Keyring` envelope: byte 1 is the version (1), byte 2 the id's length, then
    /// the id (printable ASCII). `<unreadable>` for anything else, as SQLite's expression says;
    /// bytes that are not ASCII count as unreadable too (PostgreSQL's text cannot hold every byte).
    static let functions: [String] = [
        """
        CREATE FUNCTION ecd_secret_key_id(envelope BYTEA) RETURNS TEXT
        LANGUAGE plpgsql IMMUTABLE STRICT AS $$
        DECLARE
            id BYTEA;
        BEGIN
            IF length(envelope) <= 2 THEN
                RETURN '<unreadable>';
            END IF;
            IF get_byte(envelope, 0) <> 1 THEN
                RETURN '<unreadable>';
            END IF;
            id := substring(envelope FROM 3 FOR get_byte(envelope, 1));
            FOR i IN 0 .. length(id) - 1 LOOP
                IF get_byte(id, i) = 0 OR get_byte(id, i) > 127 THEN
                    RETURN '<unreadable>';
                END IF;
            END LOOP;
            RETURN convert_from(id, 'UTF8');
        END
        $$
        """,
        """
        CREATE FUNCTION ecd_secret_key_moved(old_secret BYTEA, new_secret BYTEA) RETURNS VOID
        LANGUAGE plpgsql AS $$
        DECLARE
            old_key TEXT := ecd_secret_key_id(old_secret);
            new_key TEXT := ecd_secret_key_id(new_secret);
        BEGIN
            IF old_key IS NOT DISTINCT FROM new_key THEN
                RETURN;
            END IF;
            IF old_key IS NOT NULL THEN
                UPDATE secret_key_counts SET secrets = secrets - 1 WHERE key_id = old_key;
            END IF;
            IF new_key IS NOT NULL THEN
                INSERT INTO secret_key_counts (key_id, secrets) VALUES (new_key, 1)
                    ON CONFLICT (key_id) DO UPDATE SET secrets = secret_key_counts.secrets + 1;
            END IF;
        END
        $$
        """,
    ]

    /// One function per table (PL/pgSQL cannot name a record's column by a variable cheaply), and
    /// SQLite's three triggers under their names: `secret_keys_<table>_insert`, `_delete`, `_update`.
    static func triggers(table: String, columns: [String]) -> [String] {
        let function = "secret_keys_\(table)"
        func calls(old: String, new: String) -> String {
            columns.map { column in
                "PERFORM ecd_secret_key_moved(\(old == "NULL" ? "NULL" : "\(old).\(column)"), "
                    + "\(new == "NULL" ? "NULL" : "\(new).\(column)"));"
            }.joined(separator: "\n        ")
        }
        return [
            """
            CREATE FUNCTION \(function)() RETURNS TRIGGER
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    \(calls(old: "NULL", new: "NEW"))
                ELSIF TG_OP = 'DELETE' THEN
                    \(calls(old: "OLD", new: "NULL"))
                ELSE
                    \(calls(old: "OLD", new: "NEW"))
                END IF;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER secret_keys_\(table)_insert AFTER INSERT ON \(table) FOR EACH ROW EXECUTE FUNCTION \(function)()",
            "CREATE TRIGGER secret_keys_\(table)_delete AFTER DELETE ON \(table) FOR EACH ROW EXECUTE FUNCTION \(function)()",
            "CREATE TRIGGER secret_keys_\(table)_update AFTER UPDATE OF \(columns.joined(separator: ", ")) ON \(table) "
                + "FOR EACH ROW EXECUTE FUNCTION \(function)()",
        ]
    }
}
