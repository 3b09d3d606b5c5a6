import ECDCrypto
import ECDSQLite
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp
@testable import ECDCore
#if canImport(Glibc)
import Glibc
#endif

/// `ecd keys rewrap` of a large database while a real `ecd serve` on it answers requests that
/// write (the command asks the daemon, which holds the database): the rewrap holds the write lock for one batch at a time, never long enough for the
/// daemon's 5 s busy wait to run out (which would answer 500).
@Suite("keys rewrap beside a running daemon", .serialized)
struct RewrapUnderLoadTests {
    static let accounts = 50_000
    static let oldKey = Keyring.Key(id: "k-old", bytes: Array(repeating: 1, count: 32))
    static let newKey = Keyring.Key(id: "k-new", bytes: Array(repeating: 2, count: 32))
    static let apiKey = "rewrap-under-load-api-key-0123456789"

    static func keyringJSON(_ keys: [Keyring.Key]) -> String {
        "[" + keys.map { #"{"id":"\#($0.id)","key":"\#(Base64.encode($0.bytes))"}"# }.joined(separator: ",") + "]"
    }

    /// `count` active accounts whose two tokens are sealed with `key`, in one transaction.
    static func seed(_ path: String, count: Int, key: Keyring.Key) throws {
        let box = SecretBox(keyring: try Keyring(keys: [key]))
        let database = try Database(path: path)
        defer { database.close() }
        try database.write { connection in
            for id in 1...count {
                let row = String(id)
                try connection.execute(
                    """
                    INSERT INTO accounts (id, email, email_key, status, scope, access_token, refresh_token, key_id, updated_at)
                    VALUES (?, ?, ?, 'active', 'read_events', ?, ?, ?, 0)
                    """,
                    [id, "u\(id)@example.com", "u\(id)@example.com",
                     try box.seal("access-\(id)", table: "accounts", row: row, column: "access_token"),
                     try box.seal("refresh-\(id)", table: "accounts", row: row, column: "refresh_token"), key.id])
            }
        }
    }

    @Test("no request to the daemon answers 500 while rewrap moves 100,000 secrets; the report counts them by key id")
    func rewrapWhileServing() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var environment = DaemonEnvironment.make(folder, extra: [
            "ECD_INTERNAL_API_KEYS": #"["\#(Self.apiKey)"]"#,
            "ECD_STORAGE_ENCRYPTION_KEYS": Self.keyringJSON([Self.oldKey]),
        ])
        #expect(try await ECDBinary.run(["migrate"], environment: environment).code == 0)
        let path = try #require(environment["ECD_STORAGE_PATH"])
        try await onOwnThread { try Self.seed(path, count: Self.accounts, key: Self.oldKey) }

        // Rotation as the README says: the new key first, the daemon restarted with it, then rewrap.
        environment["ECD_STORAGE_ENCRYPTION_KEYS"] = Self.keyringJSON([Self.newKey, Self.oldKey])
        let daemon = try RunningECD(["serve"], environment: environment)
        let listening = try await daemon.waitForError { $0.contains("\"msg\":\"listening\"") }
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(listening.utf8)) as? [String: Any])
        let internalAddress = try #require(entry["internal"] as? String)
        let port = try #require(Int(internalAddress.split(separator: ":").last ?? ""))

        // The daemon holds the database: the command asks it to rewrap, through its internal API.
        var client = environment
        client["ECD_URL"] = "http://127.0.0.1:\(port)"
        client["ECD_API_KEY"] = Self.apiKey
        let rewrap = try RunningECD(["keys", "rewrap"], environment: client)
        var statuses: [Int: Int] = [:]
        var duringRewrap = 0
        // Writes (each new connect link is a committed row) for as long as the rewrap runs.
        repeat {
            let response = try await RawHTTP.send(.tcp(port: port), "POST", "/v1/service-accounts/connect-links",
                                                  headers: [("Authorization", "Bearer \(Self.apiKey)"),
                                                            ("Content-Type", "application/json")],
                                                  body: Array("{}".utf8))
            statuses[response.status, default: 0] += 1
            if rewrap.isRunning { duringRewrap += 1 }
        } while rewrap.isRunning
        #expect(await rewrap.terminate(signal: SIGTERM) == 0, "\(rewrap.standardError())")
        #expect(duringRewrap > 0)
        let problems = daemon.standardError().split(separator: "\n")
            .filter { $0.contains("\"level\":\"error\"") || $0.contains("\"status\":\"5") }
        #expect(statuses.keys.allSatisfy { $0 == 201 }, "statuses \(statuses); daemon log: \(problems.joined(separator: "\n"))")

        let report = try #require(try JSONSerialization.jsonObject(with: Data(rewrap.standardOutput().utf8)) as? [String: Any])
        #expect(report["rewrapped_from_key_ids"] as? [String: Int] == [Self.oldKey.id: 2 * Self.accounts])
        #expect(report["secrets_by_key_id"] as? [String: Int] == [Self.newKey.id: 2 * Self.accounts])
        #expect((report["batches"] as? Int ?? 0) > 1)
        #expect(await daemon.terminate(signal: SIGTERM) == 0)

        // A second run finds nothing left to move.
        let again = try await ECDBinary.run(["keys", "rewrap"], environment: environment)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect(second["total"] as? Int == 0)
        #expect(second["already_current"] as? Int == 2 * Self.accounts)
    }
}
