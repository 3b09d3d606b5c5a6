import ECDCrypto
import ECDHTTP
import ECDSQLite
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp
@testable import ECDCore
#if canImport(Glibc)
import Glibc
#endif

/// API-key rotation by SIGHUP as the README describes it, with a real `ecd serve` process: an
/// event waiting for delivery when the keys change is delivered signed with the new first key.
@Suite("webhook signing across a SIGHUP key reload", .serialized)
struct WebhookKeyRotationTests {
    static let oldKey = "old-webhook-rotation-key-0123456789abcdef"
    static let newKey = "new-webhook-rotation-key-fedcba9876543210"

    @Test("a delivery retried after SIGHUP is signed with the reloaded first key")
    func retryAfterReloadUsesTheNewKey() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // The receiver accepts only what the new key signed, as one that was told about the rotation.
        let receiver = try WebhookReceiver(acceptedKey: Array(Self.newKey.utf8))
        defer { receiver.stop() }

        let keysFile = try folder.write("api_keys", Self.oldKey + "\n")
        var environment = DaemonEnvironment.make(folder, extra: [
            "ECD_INTERNAL_API_KEYS_FILE": keysFile,
            "ECD_EVENTS_WEBHOOK_URL": "http://127.0.0.1:\(receiver.port)/hook",
        ])
        environment["ECD_INTERNAL_API_KEYS"] = nil
        let migrated = try await ECDBinary.run(["migrate"], environment: environment)
        #expect(migrated.code == 0, "\(migrated.stderr)")
        // One event waiting for delivery when the daemon starts: nothing else in this test needs Cronofy.
        let databasePath = try #require(environment["ECD_STORAGE_PATH"])
        let eventID = try await onOwnThread {
            let database = try Database(path: databasePath)
            defer { database.close() }
            return try database.write { try EventLog.append($0, .accountRequested, serviceAccountID: nil, email: "rotated@example.com") }
        }

        let process = try RunningECD(["serve"], environment: environment)
        _ = try await process.waitForError { $0.contains("\"msg\":\"listening\"") }
        let refused = try await receiver.waitForDeliveries(1)
        #expect(refused.first?.signature == WebhookReceiver.signature(key: Array(Self.oldKey.utf8), body: refused.first?.body ?? []))
        #expect(refused.first?.accepted == false)

        try folder.write("api_keys", Self.newKey + "\n" + Self.oldKey + "\n")
        kill(process.pid, SIGHUP)
        _ = try await process.waitForError { $0.contains("API keys reloaded") }
        let accepted = try await receiver.waitForAccepted()
        let event = try JSONSerialization.jsonObject(with: Data(accepted.body)) as? [String: Any]
        #expect((event?["id"] as? Int).map(Int64.init) == eventID)
        #expect(event?["email"] as? String == "rotated@example.com")
        #expect(await process.terminate(signal: SIGTERM) == 0)
    }

    @Test("SIGHUP under systemd credentials says that only a restart brings a new key")
    func reloadOfACredentialCopyWarns() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let keysFile = try folder.write("api_keys", Self.oldKey + "\n")
        var environment = DaemonEnvironment.make(folder, extra: [
            "ECD_INTERNAL_API_KEYS_FILE": keysFile, "CREDENTIALS_DIRECTORY": folder.url.path,
        ])
        environment["ECD_INTERNAL_API_KEYS"] = nil
        let process = try RunningECD(["serve"], environment: environment)
        _ = try await process.waitForError { $0.contains("\"msg\":\"listening\"") }
        kill(process.pid, SIGHUP)
        let warning = try await process.waitForError { $0.contains("systemd credential") }
        #expect(warning.contains("restart the unit"))
        _ = try await process.waitForError { $0.contains("API keys reloaded") }
        #expect(await process.terminate(signal: SIGTERM) == 0)
    }
}

/// A webhook endpoint (a `RecordingServer`): records every delivery and answers 200 only to a
/// body signed `sha256=<hex HMAC>` with `acceptedKey`, 500 to anything else (so ecd retries).
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        let signature: String?
        let body: [UInt8]
        let accepted: Bool
    }

    private let server: RecordingServer

    init(acceptedKey: [UInt8]) throws {
        server = try RecordingServer(name: "webhook") { request in
            request.headers["ECD-Signature"] == WebhookReceiver.signature(key: acceptedKey, body: request.body) ? 200 : 500
        }
    }

    var port: Int { server.port }

    func stop() {
        let server = self.server
        Task { await server.stop(deadline: .zero) }
    }

    static func signature(key: [UInt8], body: [UInt8]) -> String {
        "sha256=" + HMACSHA256.mac(key: key, message: body).map { String(format: "%02x", $0) }.joined()
    }

    /// The first `count` deliveries, waiting up to 20 s for them.
    func waitForDeliveries(_ count: Int) async throws -> [Delivery] {
        try await waitUntil { all in all.count >= count ? Array(all.prefix(count)) : nil }
    }

    /// The first accepted delivery, waiting up to 20 s (ecd's back-off between retries is 1–4 s here).
    func waitForAccepted() async throws -> Delivery {
        try await waitUntil { all in all.first(where: \.accepted) }
    }

    private var deliveries: [Delivery] {
        server.requests.map { Delivery(signature: $0.header("ECD-Signature"), body: $0.body, accepted: $0.status == 200) }
    }

    private func waitUntil<T>(_ found: ([Delivery]) -> T?) async throws -> T {
        if let value = await server.waitFor(timeout: .seconds(20), { _ in found(deliveries) }) { return value }
        let seen = deliveries.map { "\($0.accepted ? "accepted" : "refused") \($0.signature ?? "unsigned")" }
        throw RunningECD.Timeout(description: "no matching webhook delivery in 20 s; saw \(seen)")
    }
}
