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

/// Webhooks signed with their own secret (`events.webhook_secrets`), with a real `ecd serve`
/// process: during a rotation a receiver holding only the old secret, or only the new one,
/// accepts the delivery; one holding an API key does not. And SIGHUP's API-key reload.
@Suite("webhook signing with its own secret; API-key reload by SIGHUP", .serialized)
struct WebhookKeyRotationTests {
    static let oldKey = "old-webhook-rotation-key-0123456789abcdef"
    static let newKey = "new-webhook-rotation-key-fedcba9876543210"
    static let newSecret = "whsec-new-0123456789abcdef0123456789ab"
    static let oldSecret = "whsec-old-0123456789abcdef0123456789ab"

    @Test("during a rotation both secrets sign; the API key signs nothing", arguments: [oldSecret, newSecret])
    func rotationSignsWithEverySecret(receiverSecret: String) async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let receiver = try WebhookReceiver(acceptedKey: Array(receiverSecret.utf8))
        defer { receiver.stop() }
        let environment = DaemonEnvironment.make(folder, extra: [
            "ECD_INTERNAL_API_KEYS": #"["\#(Self.oldKey)"]"#,
            "ECD_EVENTS_WEBHOOK_URL": "http://127.0.0.1:\(receiver.port)/hook",
            "ECD_EVENTS_WEBHOOK_SECRETS": #"["\#(Self.newSecret)", "\#(Self.oldSecret)"]"#,
        ])
        let migrated = try await ECDBinary.run(["migrate"], environment: environment)
        #expect(migrated.code == 0, "\(migrated.stderr)")
        // One event waiting for delivery when the daemon starts: nothing else in this test needs Cronofy.
        let databasePath = try #require(environment["ECD_STORAGE_PATH"])
        let eventID = try await onOwnThread {
            let database = try Database(path: databasePath)
            defer { database.close() }
            return try database.write {
                try SQLiteStore(connection: $0).appendEvent(.accountRequested, serviceAccountID: nil, email: "rotated@example.com")
            }
        }
        let process = try RunningECD(["serve"], environment: environment)
        let accepted = try await receiver.waitForAccepted()
        let event = try JSONSerialization.jsonObject(with: Data(accepted.body)) as? [String: Any]
        #expect((event?["id"] as? Int).map(Int64.init) == eventID)
        let header = try #require(accepted.signature)
        #expect(header.hasPrefix("t="))
        #expect(header.split(separator: ",").filter { $0.hasPrefix("v1=") }.count == 2)
        let now = Int64(Date().timeIntervalSince1970)
        #expect(!WebhookSignature.verify(header: header, body: accepted.body, secrets: [Array(Self.oldKey.utf8)], now: now))
        // The same delivery replayed ten minutes later is refused by a receiver that checks `t`.
        #expect(!WebhookSignature.verify(header: header, body: accepted.body, secrets: [Array(receiverSecret.utf8)], now: now + 600))
        // `t` is inside the MAC: the same signatures under a fresher `t` (a replay made to look new) are refused.
        let signedAt = try #require(header.split(separator: ",").first.flatMap { Int64($0.dropFirst(2)) })
        let forged = (["t=\(signedAt + 1)"] + header.split(separator: ",").filter { $0.hasPrefix("v1=") }.map(String.init))
            .joined(separator: ",")
        #expect(!WebhookSignature.verify(header: forged, body: accepted.body, secrets: [Array(receiverSecret.utf8)], now: signedAt + 1))
        #expect(WebhookSignature.verify(header: header, body: accepted.body, secrets: [Array(receiverSecret.utf8)], now: signedAt + 1))
        #expect(await process.terminate(signal: SIGTERM) == 0)
    }

    @Test("SIGHUP rereads internal.api_keys_file: the new key works, a removed one does not")
    func reloadAPIKeys() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let keysFile = try folder.write("api_keys", Self.oldKey + "\n")
        var environment = DaemonEnvironment.make(folder, extra: ["ECD_INTERNAL_API_KEYS_FILE": keysFile])
        environment["ECD_INTERNAL_API_KEYS"] = nil
        let process = try RunningECD(["serve"], environment: environment)
        let listening = try await process.waitForError { $0.contains("\"msg\":\"listening\"") }
        let fields = (try? JSONSerialization.jsonObject(with: Data(listening.utf8))) as? [String: Any] ?? [:]
        let port = try #require((fields["internal"] as? String)?.split(separator: ":").last.flatMap { Int($0) })
        #expect(try await RawHTTP.send(.tcp(port: port), "GET", "/v1/events", headers: [("Authorization", "Bearer \(Self.oldKey)")]).status == 200)
        try folder.write("api_keys", #"[{"name": "ops", "key": "\#(Self.newKey)", "role": "metrics"}]"#)
        kill(process.pid, SIGHUP)
        _ = try await process.waitForError { $0.contains("API keys reloaded") }
        #expect(try await RawHTTP.send(.tcp(port: port), "GET", "/v1/events", headers: [("Authorization", "Bearer \(Self.oldKey)")]).status == 401)
        #expect(try await RawHTTP.send(.tcp(port: port), "GET", "/v1/events", headers: [("Authorization", "Bearer \(Self.newKey)")]).status == 403)
        #expect(try await RawHTTP.send(.tcp(port: port), "GET", "/metrics", headers: [("Authorization", "Bearer \(Self.newKey)")]).status == 200)
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
/// body whose `ECD-Signature` verifies with `acceptedKey` (as README's receiver checks it), 500 to
/// anything else (so ecd retries).
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        let signature: String?
        let body: [UInt8]
        let accepted: Bool
    }

    private let server: RecordingServer

    init(acceptedKey: [UInt8]) throws {
        server = try RecordingServer(name: "webhook") { request in
            let verified = request.headers["ECD-Signature"].map {
                WebhookSignature.verify(header: $0, body: request.body, secrets: [acceptedKey], now: Int64(Date().timeIntervalSince1970))
            } ?? false
            return verified ? 200 : 500
        }
    }

    var port: Int { server.port }

    func stop() {
        let server = self.server
        Task { await server.stop(deadline: .zero) }
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
