@testable import ECDCore
import ECDPostgres
import ECDSQLite
import Foundation
import Testing

/// `PostgresStorage` speaks `StorageError` to the flows, never `PostgresError`, and no error
/// carries a value the statement bound (a hash, a label, a sealed secret).
@Suite("PostgreSQL errors as the flows see them", .serialized)
struct PostgresStorageErrorTests {
    @Test func aConstraintIsAConflictWithoutTheValues() async throws {
        let fixture = try StorageFixture(.postgres)
        defer { fixture.destroy() }
        let pool = try #require(try fixture.postgresPool())
        defer { pool.close() }
        let storage = PostgresStorage(pool: pool)
        let label = "label-\(UUID().uuidString)"
        let hash = Array("hash-\(UUID().uuidString)".utf8)
        let link = ConnectLinkWrite(tokenHash: hash, label: label, scope: "read_events", delegatedScope: "read_events",
                                    expiresAt: Date().addingTimeInterval(600), createdAt: Date())
        try await storage.transaction { try $0.insertConnectLink(link) }
        do {
            try await storage.transaction { try $0.insertConnectLink(link) }
            Issue.record("a second link with the same hash was stored")
        } catch let error as StorageError {
            guard case .conflict(let message) = error else { Issue.record("not a conflict: \(error)"); return }
            #expect(!message.contains(label) && !message.contains(String(decoding: hash, as: UTF8.self)), "\(message)")
            #expect(!message.lowercased().contains(hash.map { String(format: "%02x", $0) }.joined()), "\(message)")
        }
        // The failed transaction wrote nothing; the first link is still spendable once.
        #expect(try await storage.transaction { try $0.spendConnectLink(hash: hash, now: Date()) } != nil)
    }

    @Test func anUnreachableServerIsUnavailable() async throws {
        let fixture = try StorageFixture(.postgres)
        defer { fixture.destroy() }
        guard case .postgres(let server, let database) = fixture else { return }
        var away = CorePostgresFixture.configuration(server, database: database)
        away.url = "postgresql://ecd@127.0.0.1:1/\(database)"
        let pool = PostgresPool(away)
        defer { pool.close() }
        let storage = PostgresStorage(pool: pool)
        await #expect(throws: StorageError.self) { try await storage.transaction { try $0.webhookCursor() } }
        do {
            _ = try await storage.read { try $0.webhookCursor() }
            Issue.record("a read from an unreachable server succeeded")
        } catch let error as StorageError {
            guard case .unavailable = error else { Issue.record("not unavailable: \(error)"); return }
        }
    }

    /// A call the driver refuses whatever the database's state (our bug) is `failed`, which the API
    /// answers 500: as `unavailable` it was a 503 asking the client to try again, forever.
    @Test func aMisusedDriverIsAFailureNotAnOutage() {
        for code in [SQLiteError.Code.misuse, .range, .mismatch] {
            let mapped = SQLiteStorage.storageError(SQLiteError(code: code.rawValue, message: "x"))
            guard case .failed = mapped else { Issue.record("SQLite \(code.rawValue) is \(mapped)"); continue }
        }
        guard case .unavailable = SQLiteStorage.storageError(SQLiteError(code: SQLiteError.Code.busy.rawValue, message: "x")) else {
            Issue.record("a busy SQLite database is not unavailable"); return
        }
        guard case .failed = PostgresStorage.storageError(PostgresError(kind: .misuse, message: "the connection pool is closed")) else {
            Issue.record("PostgreSQL misuse is not a failure"); return
        }
    }
}
