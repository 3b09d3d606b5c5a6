import ECDSQLite
import Foundation
import Testing
@testable import ECDCore

@Suite("Event retention: old events pruned in batches, undelivered ones kept", .serialized)
struct EventRetentionTests {
    /// Writes `count` events stamped `age` ago (one statement both databases run); returns their ids.
    func insertEvents(_ harness: Harness, count: Int, age: TimeInterval) async throws -> [Int64] {
        let tag = "old-" + UUID().uuidString.prefix(8).lowercased()
        try await harness.execute(
            """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < CAST(? AS BIGINT))
            INSERT INTO events (type, at, service_account_id, email, data)
            SELECT 'account.requested', CAST(? AS BIGINT), NULL, ? || '-' || i || '@example.com', '{}' FROM n
            """, [count, Date().addingTimeInterval(-age), tag])
        return try await harness.rows("SELECT id FROM events WHERE email LIKE ? ORDER BY id", [tag + "-%"]).compactMap { $0["id"]?.int }
    }

    func eventIDs(_ harness: Harness) async throws -> [Int64] {
        try await harness.rows("SELECT id FROM events ORDER BY id").compactMap { $0["id"]?.int }
    }

    @Test(arguments: StorageDriver.allCases) func eventsPastRetentionAreDeletedInBatches(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver) { $0.eventRetention = .seconds(86_400) }
        // More than two batches of old events, and a few recent ones.
        let old = try await insertEvents(harness, count: 2 * EnterpriseConnect.eventPruneBatch + 500, age: 2 * 86_400)
        let recent = try await insertEvents(harness, count: 3, age: 60)
        #expect(await harness.core.pruneEvents() == old.count)
        #expect(try await eventIDs(harness) == recent)
        #expect(await harness.core.pruneEvents() == 0)
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func eventsTheWebhookHasNotDeliveredAreKept(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver) { configuration in
            configuration.eventRetention = .seconds(86_400)
            configuration.webhookURL = URL(string: "http://127.0.0.1:9/never-started")
        }
        let old = try await insertEvents(harness, count: 10, age: 2 * 86_400)
        // Nothing delivered yet: nothing goes, however old.
        #expect(await harness.core.pruneEvents() == 0)
        try await harness.execute("UPDATE webhook_cursor SET last_event_id = ? WHERE id = 1", [old[3]])
        #expect(await harness.core.pruneEvents() == 4)
        #expect(try await eventIDs(harness) == Array(old[4...]))
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func noRetentionKeepsEverything(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver) { $0.eventRetention = nil }
        let old = try await insertEvents(harness, count: 5, age: 400 * 86_400)
        #expect(await harness.core.pruneEvents() == 0)
        #expect(try await eventIDs(harness) == old)
        await harness.stop()
    }
}
