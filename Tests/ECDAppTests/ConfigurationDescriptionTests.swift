import ECDHTTP
import Foundation
import Testing
@testable import ECDApp

@Suite("Effective configuration description")
struct ConfigurationDescriptionTests {
    static let webhookSecret = "hooktok-77"
    static let signingSecret = "webhook-signing-secret-0123456789abcdef"

    func config() throws -> AppConfiguration {
        try ConfigFixtures.load(ConfigFixtures.minimalJSON, environment: [
            "ECD_EVENTS_WEBHOOK_URL": "https://user:pw-55@hooks.example.com/in?token=\(Self.webhookSecret)&team=a",
            "ECD_EVENTS_WEBHOOK_SECRET": Self.signingSecret,
        ])
    }

    @Test("secrets never appear, and are shown as <redacted>")
    func redacted() throws {
        let text = try config().effectiveDescription(redacted: true)
        for secret in [ConfigFixtures.clientSecret, ConfigFixtures.apiKey, ConfigFixtures.keyBase64, Self.webhookSecret, "pw-55", Self.signingSecret] {
            #expect(!text.contains(secret), "\(secret) leaked")
        }
        #expect(text.contains("cronofy.client_secret = <redacted>  # from "))
        #expect(text.contains(#"internal.api_keys = ["<redacted>"]"#))
        #expect(text.contains(#"storage.encryption_keys = [{"id": "k1", "key": "<redacted>"}]"#))
        #expect(text.contains("token=<redacted>&team=a"))
        #expect(text.contains("events.webhook_secret = <redacted>  # from $ECD_EVENTS_WEBHOOK_SECRET"))
    }

    @Test("every key of api-contract.md §2 is printed once with its effective value and origin")
    func everyKey() throws {
        let lines = try config().effectiveDescription().split(separator: "\n").filter { !$0.hasPrefix("#") }
        let keys = lines.map { String($0.split(separator: " ")[0]) }
        #expect(keys == ConfigurationKey.all.map(\.name))
        #expect(lines.contains { $0.hasPrefix(#"cronofy.client_id = "cid-123"  # from /"#) && $0.hasSuffix("ecd.json") })
        #expect(lines.contains(#"cronofy.data_center = "us"  # default"#))
        #expect(lines.contains(#"refresh.cronofy_requests_per_minute = 400  # default"#))
        #expect(lines.contains(#"public.trusted_proxies = ["127.0.0.1/32", "::1/128"]  # default"#))
        #expect(lines.contains(#"log.format = "json"  # default"#))
        #expect(lines.contains { $0.hasPrefix("events.webhook_url = ") && $0.hasSuffix("# from $ECD_EVENTS_WEBHOOK_URL") })
    }

    @Test("unredacted output shows the secrets (never printed by ecd itself)")
    func unredacted() throws {
        let text = try config().effectiveDescription(redacted: false)
        #expect(text.contains(ConfigFixtures.clientSecret))
        #expect(text.contains(ConfigFixtures.apiKey))
        #expect(text.contains(ConfigFixtures.keyBase64))
        #expect(text.contains(Self.signingSecret))
    }

    @Test("an encryption key's description hides its bytes")
    func keySettingDescription() {
        let key = EncryptionKeySetting(id: "k9", bytes: ConfigFixtures.keyBytes)
        #expect("\(key)" == "EncryptionKeySetting(id: k9, key: <redacted>)")
    }
}

@Suite("Listen addresses and trusted proxies")
struct NetworkSettingsTests {
    @Test("listen spellings", arguments: [
        ("127.0.0.1:8080", ListenAddress.tcp(host: "127.0.0.1", port: 8080)),
        ("[::1]:0", .tcp(host: "::1", port: 0)),
        ("localhost:80", .tcp(host: "localhost", port: 80)),
        ("unix:/run/ecd.sock", .unix(path: "/run/ecd.sock")),
    ])
    func listen(_ text: String, _ expected: ListenAddress) throws {
        let parsed = try ListenAddress(parsing: text)
        #expect(parsed == expected)
        #expect(parsed.description == text)
    }

    @Test("bad listen spellings", arguments: ["", "127.0.0.1", ":80", "::1:80", "[::1]80", "[127.0.0.1]:80", "1.2.3.4:-1", "host:80"])
    func badListen(_ text: String) {
        #expect(throws: ListenAddress.ParseError.self) { try ListenAddress(parsing: text) }
    }

    @Test("CIDR membership for IPv4, IPv6 and IPv4-mapped peers")
    func cidr() throws {
        let v4 = try #require(IPNetwork(cidr: "10.1.0.0/16"))
        #expect(v4.contains(address: "10.1.255.3"))
        #expect(!v4.contains(address: "10.2.0.1"))
        #expect(v4.contains(address: "::ffff:10.1.2.3"))
        #expect(!v4.contains(address: "fd00::1"))
        #expect(!v4.contains(address: "garbage"))
        let v6 = try #require(IPNetwork(cidr: "2001:db8::/32"))
        #expect(v6.contains(address: "2001:db8:ffff::1"))
        #expect(!v6.contains(address: "2001:db9::1"))
        #expect(!v6.contains(address: "10.1.2.3"))
        #expect(try #require(IPNetwork(cidr: "192.168.1.77/24")).description == "192.168.1.0/24")
        #expect(try #require(IPNetwork(cidr: "::1")).description == "::1/128")
        #expect(IPNetwork(cidr: "0.0.0.0/0")?.contains(address: "8.8.8.8") == true)
        #expect(IPNetwork(cidr: "10.0.0.0/") == nil)
        #expect(IPNetwork(cidr: "10.0.0.0/+8") == nil)
        #expect(IPNetwork(cidr: "::/129") == nil)
        #expect(!TrustedProxies.loopback.contains(address: nil))
        #expect(TrustedProxies.loopback.contains(address: "::1"))
    }
}
