import ECDCrypto
import ECDSQLite
import Foundation
import Testing
@testable import ECDCore

/// Issue 12 item 4 at the core: secrets counted per key id by triggers (so checks need no scan),
/// a keyring that lacks a key id in use refused, `readiness()` naming secrets no key opens.
@Suite(.serialized) struct KeyringReloadTests {
    static let k1 = Keyring.Key(id: "k1", bytes: Array(repeating: 1, count: 32))
    static let k2 = Keyring.Key(id: "k2", bytes: Array(repeating: 2, count: 32))
    static let k3 = Keyring.Key(id: "k3", bytes: Array(repeating: 3, count: 32))

    /// The trigger-kept counts equal a census of every envelope after each kind of write.
    static func expectCountsMatchCensus(_ harness: Harness, _ comment: Comment) async throws {
        let census = try await (harness.driver == .sqlite
            ? SecretRewrap.census(harness.database)
            : harness.pool.asyncRead { try PostgresRewrap.census($0) }).filter { $0.value > 0 }
        #expect(try await harness.core.keyIDsInUse() == census, comment)
    }

    @Test(arguments: StorageDriver.allCases) func countsFollowEveryWriteAndSwapsAreChecked(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver, keyring: try Keyring(keys: [Self.k1]))
        _ = try await harness.connectServiceAccount()
        harness.core.start()
        let emails = ["a@example.com", "b@example.com", "c@example.com"]
        _ = try await harness.core.requestAccounts(emails.map { AccountRequestEntry(email: $0, scope: "read_events") })
        for email in emails { _ = try await harness.waitForStatus(email, .active) }
        try await Self.expectCountsMatchCensus(harness, "after connect, requests and callbacks")
        // 2 service-account tokens + 2 per account (the request state is erased once accepted).
        #expect(try await harness.core.keyIDsInUse() == ["k1": 2 + 2 * emails.count])

        // A keyring without k1 is refused, the old one stays.
        await #expect(throws: KeyringRefusal.lacksKeysInUse(["k1": 8])) { try await harness.core.replaceKeyring(try Keyring(keys: [Self.k2])) }
        #expect(harness.core.keyring.keyIDs == ["k1"])
        #expect(await harness.core.readiness().isEmpty)

        // Rotation: k2 first, refresh (writes under k2), rewrap, then k1 may go.
        try await harness.core.replaceKeyring(try Keyring(keys: [Self.k2, Self.k1]))
        _ = try await harness.core.refresh(email: "a@example.com")
        try await Self.expectCountsMatchCensus(harness, "after a refresh under the new key")
        #expect(try await harness.core.keyIDsInUse() == ["k1": 6, "k2": 2])
        let report = try await harness.core.rewrap()
        #expect(report.secretsByKeyID == ["k2": 8])
        try await Self.expectCountsMatchCensus(harness, "after rewrap")
        try await harness.core.replaceKeyring(try Keyring(keys: [Self.k2]))
        #expect(try await harness.core.token(email: "b@example.com", minValidity: .seconds(60)).value().accessToken.isEmpty == false)

        _ = try await harness.core.revokeAccount(email: "c@example.com")
        try await Self.expectCountsMatchCensus(harness, "after a revoke")
        #expect(try await harness.core.keyIDsInUse() == ["k2": 6])
        await harness.stop()
    }

    @Test(arguments: StorageDriver.allCases) func readinessNamesSecretsNoKeyOpensUntilTheKeyArrives(driver: StorageDriver) async throws {
        let harness = try Harness(driver: driver, keyring: try Keyring(keys: [Self.k1]))
        _ = try await harness.connectServiceAccount()
        #expect(await harness.core.readiness().isEmpty)
        // Something that bypassed the daemon re-sealed the service account's tokens with k3.
        let foreign = SecretBox(keyring: try Keyring(keys: [Self.k3]))
        for row in try await harness.rows("SELECT id FROM service_accounts") {
            guard let id = row["id"]?.text else { continue }
            try await harness.execute("UPDATE service_accounts SET access_token = ?, refresh_token = ? WHERE id = ?", [
                try foreign.seal("a", table: "service_accounts", row: id, column: "access_token"),
                try foreign.seal("r", table: "service_accounts", row: id, column: "refresh_token"), id])
        }
        let problems = await harness.core.readiness()
        #expect(problems.count == 1)
        #expect(problems.first?.contains("2 under key id k3") == true, "\(problems)")
        try await harness.core.replaceKeyring(try Keyring(keys: [Self.k1, Self.k3]))
        #expect(await harness.core.readiness().isEmpty)
        await harness.stop()
    }

    /// The migration counts what was stored before the table existed.
    /// SQLite only: SQLite's migration 7 (PostgreSQL starts with the table; ECDCorePostgresTests
    /// compare the counts the two databases keep).
    @Test func migrationCountsExistingSecrets() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ecd-keycounts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try Database(path: folder.appendingPathComponent("ecd.sqlite").path)
        defer { database.close() }
        try database.migrate(Array(CoreSchema.migrations.prefix(5)))
        let box = SecretBox(keyring: try Keyring(keys: [Self.k1]))
        try database.write { connection in
            for id in 1...3 {
                try connection.execute(
                    """
                    INSERT INTO accounts (id, email, email_key, status, scope, access_token, refresh_token, key_id, updated_at)
                    VALUES (?, ?, ?, 'active', 'read_events', ?, ?, 'k1', 0)
                    """,
                    [id, "u\(id)@example.com", "u\(id)@example.com",
                     try box.seal("a", table: "accounts", row: String(id), column: "access_token"),
                     try box.seal("r", table: "accounts", row: String(id), column: "refresh_token")])
            }
        }
        try CoreSchema.migrate(database)
        #expect(try database.read { try SQLiteStore(connection: $0).keyIDsInUse() } == ["k1": 6])
        #expect(try SecretRewrap.census(database) == ["k1": 6])
    }
}
