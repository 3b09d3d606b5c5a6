import ECDPostgres

/// The PostgreSQL schema of ecd's core: the same tables, column names, keys and indexes as the
/// SQLite schema of `ECDCore.CoreSchema` (docs/design/storage-drivers.md), so a row copies from
/// one to the other unchanged. Version 1 is SQLite's shape after its migration 7 (there is no
/// history to replay: PostgreSQL starts at the current shape).
///
/// Translation rules: INTEGER → BIGINT (SQLite's integers are 64-bit; times stay milliseconds),
/// BLOB → BYTEA, `INTEGER PRIMARY KEY` row ids → `BIGINT GENERATED ALWAYS AS IDENTITY` (a copy
/// keeps its ids with `OVERRIDING SYSTEM VALUE`, then moves the sequence past them), 0/1 flags
/// stay integers, the `secret_key_counts` triggers become PL/pgSQL (`CorePostgresTriggers`).
///
/// **A later SQLite migration lands with its PostgreSQL step in the same commit**: the schema
/// comparison test (`ECDCorePostgresTests`) fails while the two differ, and `sqliteVersion`
/// names the SQLite version this list matches.
public enum CorePostgresSchema {
    /// The SQLite `user_version` whose shape these migrations produce. `ecd migrate-storage`
    /// copies only from a SQLite database at exactly this version.
    public static let sqliteVersion = 8

    public static let migrations: [PostgresMigration] = [
        PostgresMigration(version: 1, name: "the core schema as of SQLite version 7",
                          sql: (version1 + CorePostgresTriggers.version1).joined(separator: ";\n")),
        PostgresMigration(version: 2, name: "NOTIFY ecd_tokens on a grant change (PostgreSQL only)",
                          sql: CoreGrantNotifications.version2.joined(separator: ";\n")),
        PostgresMigration(version: 3, name: "one Cronofy request budget for the cluster (PostgreSQL only)",
                          sql: CoreSharedBudget.version3.joined(separator: ";\n")),
        PostgresMigration(version: 4, name: "leases that outlive their node (SQLite version 8)",
                          sql: version4.joined(separator: ";\n")),
    ]

    /// Triggers SQLite has no twin of (a single process needs no notification); the schema
    /// comparison leaves them out.
    public static let postgresOnlyTriggers: Set<String> = Set(CoreGrantNotifications.triggers)

    /// Tables SQLite has no twin of (the cluster's shared request budget); the schema comparison
    /// and `ecd migrate-storage` leave them out.
    public static let postgresOnlyTables: Set<String> = Set(CoreSharedBudget.tables)

    /// Creates or upgrades the schema; safe when several nodes run it at once (`PostgresPool.migrate`
    /// takes an advisory lock around each step).
    public static func migrate(_ pool: PostgresPool) throws {
        try pool.migrate(migrations)
    }

    /// Every table of the core, parents before children (`accounts.service_account_id` references
    /// `service_accounts`): the order a copy inserts in.
    public static let tables = [
        "service_accounts", "accounts", "connect_links", "oauth_states", "callback_inbox", "events",
        "webhook_cursor", "secret_key_counts", "cluster_leases",
    ]

    /// SQLite's migration 8 (`CoreSchema.version8`): an inbox claim's node and expiry, and the
    /// leases of the once-per-cluster jobs.
    static let version4: [String] = [
        "ALTER TABLE callback_inbox ADD COLUMN lease_owner TEXT",
        "ALTER TABLE callback_inbox ADD COLUMN lease_until BIGINT",
        "CREATE TABLE cluster_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, lease_until BIGINT NOT NULL)",
    ]

    static let version1: [String] = [
        """
        CREATE TABLE service_accounts (
            id TEXT PRIMARY KEY,
            email TEXT, domain TEXT, provider TEXT, label TEXT,
            status TEXT NOT NULL,
            scope TEXT NOT NULL,
            delegated_scope TEXT NOT NULL,
            access_token BYTEA, refresh_token BYTEA, key_id TEXT,
            expires_at BIGINT,
            refresh_failures BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT,
            lease_owner TEXT, lease_until BIGINT,
            connected_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            revoke_state TEXT,
            revoke_attempts BIGINT NOT NULL DEFAULT 0,
            revoke_next_at BIGINT
        )
        """,
        """
        CREATE TABLE accounts (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            email TEXT NOT NULL,
            email_key TEXT NOT NULL UNIQUE,
            service_account_id TEXT REFERENCES service_accounts(id),
            status TEXT NOT NULL,
            scope TEXT NOT NULL,
            account_id TEXT, sub TEXT,
            profile TEXT,
            error TEXT, error_key TEXT, error_description TEXT,
            request_id TEXT UNIQUE,
            state_hash BYTEA,
            state BYTEA,
            request_sent_at BIGINT,
            access_token BYTEA, refresh_token BYTEA, key_id TEXT,
            expires_at BIGINT,
            refresh_failures BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT,
            lease_owner TEXT, lease_until BIGINT,
            at_risk BIGINT NOT NULL DEFAULT 0,
            last_used_at BIGINT,
            requested_at BIGINT, authorized_at BIGINT,
            updated_at BIGINT NOT NULL,
            revoke_state TEXT,
            revoke_attempts BIGINT NOT NULL DEFAULT 0,
            revoke_next_at BIGINT,
            reauthorize_requested_at BIGINT,
            callback_url TEXT,
            callback_attempt BIGINT NOT NULL DEFAULT 1,
            renewal_status TEXT,
            renewal_scope TEXT,
            renewal_service_account_id TEXT,
            renewal_error TEXT,
            renewal_error_key TEXT,
            renewal_error_description TEXT,
            renewal_next_attempt_at BIGINT,
            renewal_send_failures BIGINT NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX accounts_by_status ON accounts(status, email_key)",
        "CREATE INDEX accounts_by_service_account ON accounts(service_account_id, email_key)",
        "CREATE INDEX accounts_by_expiry ON accounts(expires_at) WHERE status = 'active'",
        """
        CREATE TABLE connect_links (
            token_hash BYTEA PRIMARY KEY,
            label TEXT, scope TEXT NOT NULL, delegated_scope TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT,
            created_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE oauth_states (
            state_hash BYTEA PRIMARY KEY,
            nonce_hash BYTEA NOT NULL,
            link_hash BYTEA NOT NULL,
            label TEXT, scope TEXT NOT NULL, delegated_scope TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT,
            created_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE callback_inbox (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            request_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            content_hash BYTEA NOT NULL,
            account_row BIGINT NOT NULL,
            received_at BIGINT NOT NULL,
            code BYTEA,
            error TEXT, error_key TEXT, error_description TEXT,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT,
            updated_at BIGINT NOT NULL,
            UNIQUE (request_id, content_hash)
        )
        """,
        "CREATE INDEX callback_inbox_open ON callback_inbox(status, next_attempt_at) WHERE status IN ('received', 'exchanging')",
        "CREATE INDEX callback_inbox_by_account ON callback_inbox(account_row)",
        // SQLite's AUTOINCREMENT: ids are never reused, which an identity sequence guarantees too.
        """
        CREATE TABLE events (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            type TEXT NOT NULL,
            at BIGINT NOT NULL,
            service_account_id TEXT,
            email TEXT,
            data TEXT NOT NULL
        )
        """,
        "CREATE INDEX events_by_time ON events(at)",
        """
        CREATE TABLE webhook_cursor (
            id BIGINT PRIMARY KEY CHECK (id = 1),
            last_event_id BIGINT NOT NULL
        )
        """,
        "INSERT INTO webhook_cursor (id, last_event_id) VALUES (1, 0)",
        "CREATE TABLE secret_key_counts (key_id TEXT PRIMARY KEY, secrets BIGINT NOT NULL)",
    ]
}
