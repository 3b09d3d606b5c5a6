import ECDSQLite
import Foundation
import Testing
@testable import ECDCore

@Suite("Event retention: old events pruned in batches, undelivered ones kept", .serialized)
struct EventRetentionTests {
    /// Writes `count` events stamped `age` ago; returns their ids.
    func insertEvents(_ harness: Harness, count: Int, age: TimeInterval) async throws -> [Int64] {
        let at = Date().addingTimeInterval(-age)
        return try await harness.database.asyncWrite { connection in
            try (0..<count).map { index in
                try connection.execute(
                    "INSERT INTO events (type, at, service_account_id, email, data) VALUES ('account.requested', ?, NULL, ?, '{}')",
                    [at, "old\(index)@example.com"])
                return connection.lastInsertRowID
            }
        }
    }

    func eventIDs(_ harness: Harness) async throws -> [Int64] {
        try await harness.database.asyncRead { connection in
            try connection.query("SELECT id FROM events ORDER BY id").map { try $0.get("id") }
        }
    }

    @Test func eventsPastRetentionAreDeletedInBatches() async throws {
        let harness = try Harness { $0.eventRetention = .seconds(86_400) }
        // More than two batches of old events, and a few recent ones.
        let old = try await insertEvents(harness, count: 2 * EnterpriseConnect.eventPruneBatch + 500, age: 2 * 86_400)
        let recent = try await insertEvents(harness, count: 3, age: 60)
        #expect(await harness.core.pruneEvents() == old.count)
        #expect(try await eventIDs(harness) == recent)
        #expect(await harness.core.pruneEvents() == 0)
        await harness.stop()
    }

    @Test func eventsTheWebhookHasNotDeliveredAreKept() async throws {
        let harness = try Harness { configuration in
            configuration.eventRetention = .seconds(86_400)
            configuration.webhookURL = URL(string: "http://127.0.0.1:9/never-started")
        }
        let old = try await insertEvents(harness, count: 10, age: 2 * 86_400)
        // Nothing delivered yet: nothing goes, however old.
        #expect(await harness.core.pruneEvents() == 0)
        try await harness.database.asyncWrite { connection in
            try connection.execute("UPDATE webhook_cursor SET last_event_id = ? WHERE id = 1", [old[3]])
        }
        #expect(await harness.core.pruneEvents() == 4)
        #expect(try await eventIDs(harness) == Array(old[4...]))
        await harness.stop()
    }

    @Test func noRetentionKeepsEverything() async throws {
        let harness = try Harness { $0.eventRetention = nil }
        let old = try await insertEvents(harness, count: 5, age: 400 * 86_400)
        #expect(await harness.core.pruneEvents() == 0)
        #expect(try await eventIDs(harness) == old)
        await harness.stop()
    }
}
