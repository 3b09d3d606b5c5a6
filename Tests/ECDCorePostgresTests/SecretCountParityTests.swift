import ECDCorePostgres
import ECDCrypto
import ECDPostgres
import ECDSQLite
import Foundation
import Testing

/// The PL/pgSQL triggers count secrets per key id as SQLite's do: the same writes on both
/// databases leave the same `secret_key_counts`.
@Suite("Core schema: secret counts alike")
struct SecretCountParityTests {
    /// One write in both dialects (`?` for SQLite, `$n` for PostgreSQL, same arguments).
    struct Write {
        let sql: String
        let arguments: [[UInt8]?]
    }

    @Test func theSameWritesLeaveTheSameCounts() throws {
        let sqlite = try FreshSQLite()
        let pool = try freshPool()
        defer { pool.close() }
        try CorePostgresSchema.migrate(pool)
        let k1 = try Keyring(keys: [.init(id: "k1", bytes: Array(repeating: 1, count: 32))])
        let k2 = try Keyring(keys: [.init(id: "k-two", bytes: Array(repeating: 2, count: 32))])
        func seal(_ ring: Keyring) throws -> [UInt8] { try ring.seal(Array("secret".utf8), associatedData: []) }
        let writes: [Write] = [
            Write(sql: "INSERT INTO service_accounts (id, status, scope, delegated_scope, connected_at, updated_at, access_token, refresh_token) VALUES ('ser', 'active', 's', 'd', 1, 1, ?, ?)",
                  arguments: [try seal(k1), try seal(k1)]),
            Write(sql: "INSERT INTO accounts (email, email_key, status, scope, updated_at, access_token, refresh_token, state) VALUES ('a', 'a', 'active', 's', 1, ?, ?, ?)",
                  arguments: [try seal(k1), try seal(k1), nil]),
            Write(sql: "INSERT INTO accounts (email, email_key, status, scope, updated_at, state) VALUES ('b', 'b', 'pending', 's', 1, ?)",
                  arguments: [try seal(k2)]),
            // A refresh under the same key, a rewrap to another key, an erased token, garbage.
            Write(sql: "UPDATE accounts SET access_token = ? WHERE email_key = 'a'", arguments: [try seal(k1)]),
            Write(sql: "UPDATE accounts SET refresh_token = ? WHERE email_key = 'a'", arguments: [try seal(k2)]),
            Write(sql: "UPDATE service_accounts SET access_token = NULL, refresh_token = ?", arguments: [[9, 9, 9]]),
            Write(sql: "UPDATE accounts SET status = 'active', state = NULL WHERE email_key = 'b'", arguments: []),
            Write(sql: "INSERT INTO callback_inbox (request_id, kind, content_hash, account_row, received_at, status, updated_at, code) VALUES ('r', 'code', x'00', 1, 1, 'received', 1, ?)",
                  arguments: [try seal(k2)]),
            Write(sql: "UPDATE callback_inbox SET status = 'done'", arguments: []),
            Write(sql: "DELETE FROM accounts WHERE email_key = 'a'", arguments: []),
        ]
        for write in writes {
            try sqlite.database.write { try $0.execute(write.sql, write.arguments.map { $0.map(SQLValue.blob) ?? .null }) }
            var numbered = write.sql
            var index = 0
            while let range = numbered.range(of: "?") {
                index += 1
                numbered.replaceSubrange(range, with: "$\(index)")
            }
            let postgresSQL = numbered.replacingOccurrences(of: "x'00'", with: "'\\x00'::bytea")
            try pool.write { try $0.execute(postgresSQL, write.arguments.map { $0.map(PostgresValue.bytes) ?? .null }) }
        }
        let sqliteCounts = try sqlite.database.read { connection in
            try Dictionary(uniqueKeysWithValues: connection.query("SELECT key_id, secrets FROM secret_key_counts WHERE secrets <> 0")
                .map { (try $0.get("key_id") as String, try $0.get("secrets") as Int) })
        }
        let postgresCounts = try pool.read { connection in
            try Dictionary(uniqueKeysWithValues: connection.query("SELECT key_id, secrets FROM secret_key_counts WHERE secrets <> 0")
                .map { (try $0.get("key_id") as String, try $0.get("secrets") as Int) })
        }
        // k1: 2 + 2 sealed, 1 moved to k-two, 1 erased, 1 replaced by garbage, 1 deleted with its row.
        #expect(sqliteCounts == ["k-two": 1, "<unreadable>": 1])
        #expect(postgresCounts == sqliteCounts)
    }
}
