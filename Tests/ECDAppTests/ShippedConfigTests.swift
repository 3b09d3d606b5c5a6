import ECDCore
import Foundation
import Testing
@testable import ECDApp

/// The configuration files in Config/ as shipped: each loads with no problem once its secret files
/// exist, and the production example keeps the documented defaults (README, Configuration).
@Suite("shipped configuration examples")
struct ShippedConfigTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("Config/ecd.example.json is valid with its credential files in place")
    func productionExample() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // The example points its _file keys at /run/credentials/ecd.service; the environment wins.
        let environment = [
            "ECD_CRONOFY_CLIENT_SECRET_FILE": try folder.write("cronofy_client_secret", ConfigFixtures.clientSecret + "\n"),
            "ECD_INTERNAL_API_KEYS_FILE": try folder.write("api_keys", ConfigFixtures.apiKey + "-0123456789abcdef0123456789\n"),
            "ECD_STORAGE_ENCRYPTION_KEYS_FILE": try folder.write(
                "encryption_keys", #"[{"id":"k1","key":"\#(ConfigFixtures.keyBase64)"}]"#),
        ]
        let text = try String(contentsOf: Self.repository.appendingPathComponent("Config/ecd.example.json"), encoding: .utf8)
        let configuration = try ConfigFixtures.load(text, environment: environment)
        #expect(configuration.publicListener.baseURL?.absoluteString == "https://ecd.example.com")
        // Not required: Cronofy documents Cronofy-HMAC-SHA256 for push notifications only; a
        // present header is still checked (README, "Where the contract is silent").
        #expect(configuration.cronofy.requireCallbackSignature == false)
    }

    @Test("Config/ecd.postgres.example.json is valid with its credential files in place")
    func postgresExample() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let environment = [
            "ECD_CRONOFY_CLIENT_SECRET_FILE": try folder.write("cronofy_client_secret", ConfigFixtures.clientSecret + "\n"),
            "ECD_INTERNAL_API_KEYS_FILE": try folder.write("api_keys", ConfigFixtures.apiKey + "-0123456789abcdef0123456789\n"),
            "ECD_STORAGE_ENCRYPTION_KEYS_FILE": try folder.write(
                "encryption_keys", #"[{"id":"k1","key":"\#(ConfigFixtures.keyBase64)"}]"#),
            "ECD_STORAGE_POSTGRES_URL_FILE": try folder.write("postgres_url", "postgresql://ecd:pw-Jx3@db.internal/ecd\n"),
        ]
        let text = try String(contentsOf: Self.repository.appendingPathComponent("Config/ecd.postgres.example.json"), encoding: .utf8)
        let configuration = try ConfigFixtures.load(text, environment: environment)
        #expect(configuration.storage.driver == .postgres)
        #expect(configuration.storage.postgres?.poolSize == 8)
        #expect(configuration.storage.postgres?.url.host == "db.internal")
    }

    /// The PostgreSQL drop-in hands the server's URL to the unit as a credential; the example's
    /// `storage.postgres.url_file` must name that credential's copy, or a node set up by the
    /// README's cluster section would not find its database.
    @Test("deploy/systemd/ecd-postgres.conf loads the credential Config/ecd.postgres.example.json reads")
    func postgresDropInMatchesExample() throws {
        let dropIn = try String(contentsOf: Self.repository.appendingPathComponent("deploy/systemd/ecd-postgres.conf"), encoding: .utf8)
        let credentials = dropIn.split(separator: "\n").filter { $0.hasPrefix("LoadCredential=") }
            .map { $0.dropFirst("LoadCredential=".count).split(separator: ":", maxSplits: 1) }
        #expect(credentials.count == 1)
        let name = try #require(credentials.first?.first).description
        #expect(credentials.first?.last == "/etc/ecd/secrets/postgres_url")
        let example = try Data(contentsOf: Self.repository.appendingPathComponent("Config/ecd.postgres.example.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: example) as? [String: Any])
        let postgres = (json["storage"] as? [String: Any])?["postgres"] as? [String: Any]
        #expect(postgres?["url_file"] as? String == "/run/credentials/ecd.service/\(name)")
        #expect(dropIn.contains("\nAfter=postgresql.service\n"))
    }

    @Test("Config/ecd.dev.json is valid as shipped")
    func developmentExample() throws {
        let text = try String(contentsOf: Self.repository.appendingPathComponent("Config/ecd.dev.json"), encoding: .utf8)
        #expect(ConfigFixtures.problems(text).isEmpty)
    }

    /// The unit's `TimeoutStopSec` (seconds), read from deploy/systemd/ecd.service as shipped.
    static func timeoutStopSec() throws -> Int {
        let unit = try String(contentsOf: repository.appendingPathComponent("deploy/systemd/ecd.service"), encoding: .utf8)
        let line = try #require(unit.split(separator: "\n").first { $0.hasPrefix("TimeoutStopSec=") })
        return try #require(Int(line.dropFirst("TimeoutStopSec=".count).trimmingCharacters(in: .whitespaces)))
    }

    @Test("a stop with the default drain, or the production example's, ends before systemd's TimeoutStopSec")
    func stopFitsTheUnitsTimeout() throws {
        let timeout = Duration.seconds(try Self.timeoutStopSec())
        let defaultDrain = ServerSettings().drainDeadline
        #expect(Application.stopDeadline(drain: defaultDrain) < timeout,
                "drain \(defaultDrain) + core \(EnterpriseConnect.shutdownDeadline) must stay below TimeoutStopSec=\(timeout)")
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let text = try String(contentsOf: Self.repository.appendingPathComponent("Config/ecd.example.json"), encoding: .utf8)
        let shipped = try ConfigFixtures.load(text, environment: [
            "ECD_CRONOFY_CLIENT_SECRET_FILE": try folder.write("cronofy_client_secret", ConfigFixtures.clientSecret + "\n"),
            "ECD_INTERNAL_API_KEYS_FILE": try folder.write("api_keys", ConfigFixtures.apiKey + "-0123456789abcdef0123456789\n"),
            "ECD_STORAGE_ENCRYPTION_KEYS_FILE": try folder.write(
                "encryption_keys", #"[{"id":"k1","key":"\#(ConfigFixtures.keyBase64)"}]"#),
        ])
        #expect(Application.stopDeadline(drain: shipped.server.drainDeadline) < timeout)
    }
}
