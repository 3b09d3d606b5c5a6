import ECDCorePostgres
import ECDCrypto
import ECDPostgres
import Foundation
import Testing

/// The `ecd_tokens` notifications of `CoreGrantNotifications`: sent by the commit of a grant
/// change, never by a rollback nor by bookkeeping, and carrying a digest, not the email.
@Suite("PostgreSQL grant notifications")
struct GrantNotificationTests {
    static func digest(_ emailKey: String) -> String {
        SHA256Digest.hash(Array(emailKey.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Receives the listener's notifications in order; `next` waits (bounded) for the next one.
    final class Inbox: @unchecked Sendable {
        private let condition = NSCondition()
        private var payloads: [String] = []

        func add(_ payload: String) { condition.withLock { payloads.append(payload); condition.broadcast() } }

        func next(timeout: TimeInterval = 5) -> String? {
            let limit = Date().addingTimeInterval(timeout)
            condition.lock()
            defer { condition.unlock() }
            while payloads.isEmpty { if !condition.wait(until: limit) { return nil } }
            return payloads.removeFirst()
        }
    }

    @Test func aGrantChangeIsAnnouncedAtItsCommitAndNothingElseIs() throws {
        let pool = try freshPool()
        defer { pool.close() }
        try CorePostgresSchema.migrate(pool)
        let inbox = Inbox()
        let listener = try PostgresListener(pool.configuration, channels: [CoreGrantNotifications.channel, "sentinel"]) { event in
            if case .notification(let channel, let payload, _) = event { inbox.add("\(channel):\(payload)") }
        }
        defer { listener.stop() }
        listener.start()
        #expect(listener.waitUntilListening(timeout: .seconds(10)))
        let key = "ana@example.com"
        try pool.write { connection in
            _ = try connection.execute("""
                INSERT INTO accounts (email, email_key, status, scope, updated_at, access_token, expires_at)
                VALUES ('Ana@example.com', $1, 'active', 'read_events', 1, '\\x0102'::bytea, 1000)
                """, [key])
        }
        /// Each step is followed by a sentinel: what the step sent arrives before it, or not at all.
        func step(_ sql: String, rollback: Bool = false) throws -> [String] {
            if rollback {
                struct Rollback: Error {}
                _ = try? pool.write { connection -> Void in
                    _ = try connection.execute(sql, [key])
                    throw Rollback()
                }
            } else {
                try pool.write { _ = try $0.execute(sql, [key]) }
            }
            try pool.write { try $0.notify("sentinel", payload: "end") }
            var seen: [String] = []
            while let payload = inbox.next(), payload != "sentinel:end" { seen.append(payload) }
            return seen
        }
        let announced = "\(CoreGrantNotifications.channel):\(Self.digest(key))"
        #expect(try step("UPDATE accounts SET last_used_at = 5, lease_owner = 'n1' WHERE email_key = $1") == [])
        #expect(try step("UPDATE accounts SET access_token = '\\x0304'::bytea, expires_at = 2000 WHERE email_key = $1") == [announced])
        #expect(try step("UPDATE accounts SET status = 'revoked' WHERE email_key = $1", rollback: true) == [])
        #expect(try step("UPDATE accounts SET status = 'revoked' WHERE email_key = $1") == [announced])
        #expect(try step("DELETE FROM accounts WHERE email_key = $1") == [announced])
        #expect(!announced.contains("ana"))
    }
}
