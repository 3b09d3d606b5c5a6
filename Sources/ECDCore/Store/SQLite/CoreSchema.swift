import ECDSQLite

/// The database schema of the service layer (docs/design/data-model.md), as ordered migrations tracked by
/// `PRAGMA user_version`. Times are INTEGER milliseconds since 1970 UTC (ECDSQLite's `Date`
/// binding). Secret columns are BLOBs holding `Keyring` envelopes (AES-256-GCM, key id inside);
/// link tokens, OAuth states and cookie nonces are SHA-256 hashes; nothing secret is clear text.
public enum CoreSchema {
    public static let migrations: [Migration] = [
        Migration(version: 1, name: "initial schema") { connection in
            for statement in version1 { try connection.execute(statement) }
        },
        Migration(version: 2, name: "callbacks kept by content, events by time") { connection in
            for statement in version2 { try connection.execute(statement) }
        },
        Migration(version: 3, name: "revocations Cronofy refused") { connection in
            for statement in version3 { try connection.execute(statement) }
        },
        Migration(version: 4, name: "automatic re-requests, callback URLs as sent") { connection in
            for statement in version4 { try connection.execute(statement) }
        },
        Migration(version: 5, name: "renewals of active accounts") { connection in
            for statement in version5 { try connection.execute(statement) }
        },
        Migration(version: 6, name: "secrets counted per key id") { connection in
            for statement in SecretKeyCounts.migration { try connection.execute(statement) }
        },
        Migration(version: 7, name: "a renewal's send retries apart from the refresh backoff") { connection in
            for statement in version7 { try connection.execute(statement) }
        },
        Migration(version: 8, name: "leases that outlive their node: inbox claims and once-per-cluster work") { connection in
            for statement in version8 { try connection.execute(statement) }
        },
    ]

    /// Creates or upgrades the schema: the one place it happens (`ecd migrate`, `keys rewrap`, and
    /// `buildApplication` at every start of `serve` and the demo, before `EnterpriseConnect` is made).
    public static func migrate(_ database: Database) throws {
        try database.migrate(migrations)
    }

    static let version1: [String] = [
        """
        CREATE TABLE service_accounts (
            id TEXT PRIMARY KEY,                 -- Cronofy's ser_… id (userinfo sub)
            email TEXT, domain TEXT, provider TEXT, label TEXT,
            status TEXT NOT NULL,
            scope TEXT NOT NULL,
            delegated_scope TEXT NOT NULL,
            access_token BLOB, refresh_token BLOB, key_id TEXT,
            expires_at INTEGER,
            refresh_failures INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER,
            lease_owner TEXT, lease_until INTEGER,
            connected_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,              -- stable row key, named in the secrets' associated data
            email TEXT NOT NULL,
            email_key TEXT NOT NULL UNIQUE,      -- lower-cased: emails compare case-insensitively
            service_account_id TEXT REFERENCES service_accounts(id),
            status TEXT NOT NULL,
            scope TEXT NOT NULL,
            account_id TEXT, sub TEXT,
            profile TEXT,                        -- JSON {provider_name, profile_id, profile_name}
            error TEXT, error_key TEXT, error_description TEXT,
            request_id TEXT UNIQUE,              -- unguessable; names the callback path
            state_hash BLOB,                     -- SHA-256 of the request's state
            state BLOB,                          -- envelope of the state, kept only until Cronofy accepts the request
            request_sent_at INTEGER,             -- NULL while Cronofy has not accepted the request
            access_token BLOB, refresh_token BLOB, key_id TEXT,
            expires_at INTEGER,
            refresh_failures INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER,
            lease_owner TEXT, lease_until INTEGER,
            at_risk INTEGER NOT NULL DEFAULT 0,  -- its service account lost its authorization
            last_used_at INTEGER,
            requested_at INTEGER, authorized_at INTEGER,
            updated_at INTEGER NOT NULL
        )
        """,
        "CREATE INDEX accounts_by_status ON accounts(status, email_key)",
        "CREATE INDEX accounts_by_service_account ON accounts(service_account_id, email_key)",
        "CREATE INDEX accounts_by_expiry ON accounts(expires_at) WHERE status = 'active'",
        """
        CREATE TABLE connect_links (
            token_hash BLOB PRIMARY KEY,
            label TEXT, scope TEXT NOT NULL, delegated_scope TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            created_at INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE oauth_states (
            state_hash BLOB PRIMARY KEY,
            nonce_hash BLOB NOT NULL,            -- SHA-256 of the browser cookie's value
            link_hash BLOB NOT NULL,
            label TEXT, scope TEXT NOT NULL, delegated_scope TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            created_at INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE callback_inbox (
            id INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL UNIQUE,
            account_row INTEGER NOT NULL,
            received_at INTEGER NOT NULL,
            code BLOB,                           -- envelope; erased once processed
            error TEXT, error_key TEXT, error_description TEXT,
            status TEXT NOT NULL,                -- received | exchanging | done | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER,
            updated_at INTEGER NOT NULL
        )
        """,
        "CREATE INDEX callback_inbox_open ON callback_inbox(status, next_attempt_at) WHERE status IN ('received', 'exchanging')",
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            type TEXT NOT NULL,
            at INTEGER NOT NULL,
            service_account_id TEXT,
            email TEXT,
            data TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE webhook_cursor (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_event_id INTEGER NOT NULL
        )
        """,
        "INSERT INTO webhook_cursor (id, last_event_id) VALUES (1, 0)",
    ]

    /// A request may receive more than one callback (a genuine code after an error, or a forged
    /// one next to the real one): rows are told apart by what they carry, not by their request.
    /// `content_hash` is SHA-256 of the code, or of the error callback's body; the same content
    /// again is a duplicate. Rows from version 1 get a placeholder unique to the row. Events get
    /// an index by time for the retention prune.
    static let version2: [String] = [
        """
        CREATE TABLE callback_inbox_v2 (
            id INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL,
            kind TEXT NOT NULL,                  -- code | error
            content_hash BLOB NOT NULL,          -- SHA-256 of the code or of the error callback's body
            account_row INTEGER NOT NULL,
            received_at INTEGER NOT NULL,
            code BLOB,                           -- envelope; erased once processed
            error TEXT, error_key TEXT, error_description TEXT,
            status TEXT NOT NULL,                -- received | exchanging | done | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER,
            updated_at INTEGER NOT NULL,
            UNIQUE (request_id, content_hash)
        )
        """,
        """
        INSERT INTO callback_inbox_v2 (id, request_id, kind, content_hash, account_row, received_at, code, error,
            error_key, error_description, status, attempts, next_attempt_at, updated_at)
        SELECT id, request_id, CASE WHEN error IS NULL THEN 'code' ELSE 'error' END, CAST('v1-' || id AS BLOB),
            account_row, received_at, code, error, error_key, error_description, status, attempts, next_attempt_at,
            updated_at
        FROM callback_inbox
        """,
        "DROP TABLE callback_inbox",
        "ALTER TABLE callback_inbox_v2 RENAME TO callback_inbox",
        "CREATE INDEX callback_inbox_open ON callback_inbox(status, next_attempt_at) WHERE status IN ('received', 'exchanging')",
        "CREATE INDEX callback_inbox_by_account ON callback_inbox(account_row)",
        "CREATE INDEX events_by_time ON events(at)",
    ]

    /// A revocation Cronofy refused (or did not answer) keeps the tokens and is retried in the
    /// background: `revoke_state` is `pending` until Cronofy confirms, or `local_only` once an
    /// operator erased the tokens here without Cronofy's confirmation.
    static let version3: [String] = [
        "ALTER TABLE accounts ADD COLUMN revoke_state TEXT",
        "ALTER TABLE accounts ADD COLUMN revoke_attempts INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE accounts ADD COLUMN revoke_next_at INTEGER",
        "ALTER TABLE service_accounts ADD COLUMN revoke_state TEXT",
        "ALTER TABLE service_accounts ADD COLUMN revoke_attempts INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE service_accounts ADD COLUMN revoke_next_at INTEGER",
    ]

    /// When ecd last re-requested an account by itself (a dead delegated grant), so it does so at
    /// most once per `accounts.reauthorize_interval_seconds`; the callback URL each request was
    /// sent with; the attempt count of a request whose callbacks got lost.
    static let version4: [String] = [
        "ALTER TABLE accounts ADD COLUMN reauthorize_requested_at INTEGER",
        // The callback_url sent with the current request: the code exchange must name exactly it,
        // whatever public.base_url says by then.
        "ALTER TABLE accounts ADD COLUMN callback_url TEXT",
        // Which attempt of the current request this is (lost callbacks are asked for again).
        "ALTER TABLE accounts ADD COLUMN callback_attempt INTEGER NOT NULL DEFAULT 1",
    ]

    /// A re-request of an `active` account is a renewal: the account stays `active` on its current
    /// grant while the request (its request_id, state, callback_url and attempt, the same columns
    /// as any request's) is out, and the scope and service account it asks for wait here until
    /// its code is exchanged. `renewal_status` is `pending` or `failed` (the old grant stays).
    static let version5: [String] = [
        "ALTER TABLE accounts ADD COLUMN renewal_status TEXT",
        "ALTER TABLE accounts ADD COLUMN renewal_scope TEXT",
        "ALTER TABLE accounts ADD COLUMN renewal_service_account_id TEXT",
        "ALTER TABLE accounts ADD COLUMN renewal_error TEXT",
        "ALTER TABLE accounts ADD COLUMN renewal_error_key TEXT",
        "ALTER TABLE accounts ADD COLUMN renewal_error_description TEXT",
    ]

    /// A renewal's send claim and retry backoff. They used to share `next_attempt_at` and
    /// `refresh_failures` with the active grant's refresh backoff, so an unsent renewal made the
    /// refresh-ahead sweep skip the account (and an expired token answer 503), and a successful
    /// send reset the refresh backoff. Any other request has no active grant: it keeps using them.
    /// A renewal unsent at the upgrade starts with no claim: the resend sweep sends it at once.
    static let version7: [String] = [
        "ALTER TABLE accounts ADD COLUMN renewal_next_attempt_at INTEGER",
        "ALTER TABLE accounts ADD COLUMN renewal_send_failures INTEGER NOT NULL DEFAULT 0",
    ]

    /// The PostgreSQL twin is `CorePostgresSchema`'s version 4 (docs/design/storage-drivers.md §6).
    /// An inbox row claimed for an exchange names its node and how long the claim holds (renewed
    /// while the exchange runs), so another node takes it over only once its node is gone; and
    /// `cluster_leases` holds the one lease per singleton job (webhook delivery, event retention).
    /// A single SQLite process uses them too, and clears them at start (`soleProcess`).
    static let version8: [String] = [
        "ALTER TABLE callback_inbox ADD COLUMN lease_owner TEXT",
        "ALTER TABLE callback_inbox ADD COLUMN lease_until INTEGER",
        "CREATE TABLE cluster_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, lease_until INTEGER NOT NULL)",
    ]
}
