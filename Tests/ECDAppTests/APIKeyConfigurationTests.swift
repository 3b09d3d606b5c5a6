import ECDCrypto
import Foundation
import Testing
@testable import ECDApp

/// `internal.api_keys` entries with names, roles and scopes; digests; `internal.open_probes`;
/// `events.webhook_secret(s)`; and the precise problems each reports.
@Suite("Named API keys, roles and webhook secrets in the configuration")
struct APIKeyConfigurationTests {
    static let billing = "billing-key-0123456789abcdef0123456789"
    static let prometheus = "prometheus-key-0123456789abcdef012345"
    static let hookSecret = "hook-secret-0123456789abcdef0123456789"

    static func json(keys: String, extra: String = "") -> String {
        """
        {
          "cronofy": {"client_id": "cid-123", "client_secret": "\(ConfigFixtures.clientSecret)"},
          "public": {"base_url": "https://ecd.example.com/"},
          "internal": {"api_keys": \(keys)\(extra)},
          "storage": {"encryption_keys": [{"id": "k1", "key": "\(ConfigFixtures.keyBase64)"}]}
        }
        """
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("plain strings stay admin keys; objects carry a name, a role and a scope; digests are accepted")
    func namedKeys() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let keyFile = try folder.write("billing.key", Self.billing + "\n")
        let digest = Self.hex(SHA256Digest.hash(Array(Self.prometheus.utf8)))
        let keys = """
            ["\(ConfigFixtures.apiKey)",
             {"name": "billing", "key_file": "\(keyFile)", "role": "tokens", "service_accounts": ["ser_1"], "domains": ["Example.COM"]},
             {"name": "prometheus", "key_sha256": "\(digest.uppercased())", "role": "metrics"}]
            """
        let config = try ConfigFixtures.load(Self.json(keys: keys, extra: #", "open_probes": true"#))
        let store = config.internalListener.apiKeys
        #expect(store.identify(Array(ConfigFixtures.apiKey.utf8))?.name == "#1")
        #expect(store.identify(Array(ConfigFixtures.apiKey.utf8))?.role == .admin)
        let billing = try #require(store.identify(Array(Self.billing.utf8)))
        #expect(billing.name == "billing" && billing.role == .tokens)
        #expect(billing.serviceAccounts == ["ser_1"] && billing.domains == ["example.com"])
        #expect(billing.covers(email: "a@example.com", serviceAccountID: nil))
        #expect(billing.covers(email: "a@other.com", serviceAccountID: "ser_1"))
        #expect(!billing.covers(email: "a@other.com", serviceAccountID: "ser_2"))
        #expect(store.identify(Array(Self.prometheus.utf8))?.role == .metrics)
        #expect(config.internalListener.openProbes)
        // check-config shows names, roles, the file and the digest; never a key.
        let text = config.effectiveDescription()
        #expect(!text.contains(Self.billing) && !text.contains(ConfigFixtures.apiKey))
        #expect(text.contains(#"{"name": "billing", "role": "tokens", "key_file": "\#(keyFile)", "service_accounts": ["ser_1"], "domains": ["example.com"]}"#))
        #expect(text.contains(#"{"name": "prometheus", "role": "metrics", "key_sha256": "\#(digest)"}"#))
        #expect(text.contains("internal.open_probes = true"))
    }

    @Test("each malformed entry is one precise problem naming its path, never the key")
    func problems() throws {
        let keys = """
            [{"name": "a", "key": "\(Self.billing)", "rol": "tokens"},
             {"name": "b", "key": "\(Self.prometheus)", "role": "token"},
             {"name": "c", "role": "admin"},
             {"name": "d", "key": "\(Self.hookSecret)", "key_sha256": "00", "role": "admin"},
             {"name": "e", "key_sha256": "xyz", "role": "admin"},
             {"name": "f", "key": "short", "role": "metrics"},
             {"name": "g g", "key": "g-0123456789abcdef0123456789abcdef", "role": "metrics", "domains": ["example.com"]},
             {"name": "j", "key": "j-0123456789abcdef0123456789abcdef", "role": "tokens", "domains": ["@x"]},
             42]
            """
        let problems = ConfigFixtures.problems(Self.json(keys: keys))
        #expect(problems == [
            "internal.api_keys[0].rol: unknown key; did you mean role?",
            "internal.api_keys[0].role: required",
            "internal.api_keys[1].role: must be one of admin, tokens, metrics; did you mean tokens?",
            "internal.api_keys[2]: required: one of key, key_file, key_sha256",
            "internal.api_keys[3]: set only one of key, key_sha256",
            "internal.api_keys[4].key_sha256: must be 64 hex digits (printf %s \"$KEY\" | sha256sum)",
            "internal.api_keys[5].key: too short (5 characters): an API key needs at least 32, e.g. openssl rand -hex 32",
            "internal.api_keys[6].name: must be 1 to 64 letters, digits, '.', '_' or '-' (it names the key in logs and the audit trail)",
            "internal.api_keys[6]: service_accounts and domains limit a tokens key; a metrics key cannot be limited",
            "internal.api_keys[7].domains[0]: must be an email domain such as example.com",
            "internal.api_keys[8]: must be a key (a string) or an object {\"name\", \"key\", \"role\"}, not a number",
        ])
        for problem in problems { #expect(!problem.contains(Self.billing) && !problem.contains(Self.prometheus)) }
        // A name used twice: the second is refused.
        let twice = """
            [{"name": "a", "key": "\(Self.billing)", "role": "admin"}, {"name": "a", "key": "\(Self.prometheus)", "role": "admin"}]
            """
        #expect(ConfigFixtures.problems(Self.json(keys: twice)) == ["internal.api_keys[1].name: duplicate name a (also internal.api_keys[0])"])
        // One key under two names would be one caller with two roles.
        let sameKey = """
            [{"name": "a", "key": "\(Self.billing)", "role": "admin"}, {"name": "b", "key": "\(Self.billing)", "role": "metrics"}]
            """
        #expect(ConfigFixtures.problems(Self.json(keys: sameKey)) == ["internal.api_keys[1]: the same key as internal.api_keys[0]"])
    }

    @Test("a keys file may hold a JSON list of named keys; SIGHUP rereads it with its roles")
    func keysFileWithRoles() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("keys.json", #"[{"name": "billing", "key": "\#(Self.billing)", "role": "tokens"}]"#)
        let config = try ConfigFixtures.load(ConfigFixtures.minimalJSON, environment: ["ECD_INTERNAL_API_KEYS_FILE": path])
        let store = config.internalListener.apiKeys
        #expect(store.identify(Array(Self.billing.utf8))?.role == .tokens)
        try folder.write("keys.json", #"[{"name": "billing", "key": "\#(Self.billing)", "role": "metrics"}]"#)
        #expect(try store.reload() == 1)
        #expect(store.identify(Array(Self.billing.utf8))?.role == .metrics)
        // A bad edit names the entry by its place in the file and keeps the keys in force.
        try folder.write("keys.json", #"[{"name": "billing", "key": "\#(Self.billing)", "role": "root"}]"#)
        #expect {
            try store.reload()
        } throws: { error in
            (error as? ConfigurationError)?.problems == ["internal.api_keys_file: \(path)[0].role: must be one of admin, tokens, metrics"]
        }
        try folder.write("keys.json", #"[{"name": "billing",, }]"#)
        #expect {
            try store.reload()
        } throws: { error in
            (error as? ConfigurationError)?.problems.first?.hasPrefix("internal.api_keys_file: \(path) is not valid JSON: line 1, column") == true
        }
        #expect(store.identify(Array(Self.billing.utf8))?.role == .metrics)
    }

    @Test("a webhook needs its own secret; a rotation lists several")
    func webhookSecrets() throws {
        let hook = #", "events": {"webhook_url": "https://hooks.example.com/ecd"}"#
        let base = ConfigFixtures.minimalJSON.dropLast(2)
        #expect(ConfigFixtures.problems(base + hook + "}") == [
            "events.webhook_secret: required when events.webhook_url is set (set events.webhook_secret, events.webhook_secret_file or events.webhook_secrets; e.g. openssl rand -hex 32)",
        ])
        let single = try ConfigFixtures.load(base + hook + "}", environment: ["ECD_EVENTS_WEBHOOK_SECRET": Self.hookSecret])
        #expect(single.events.webhookSecrets == [Self.hookSecret])
        #expect(ConfigFixtures.problems(base + hook + "}", environment: ["ECD_EVENTS_WEBHOOK_SECRET": "short"])
            == ["ECD_EVENTS_WEBHOOK_SECRET: too short (5 characters): a webhook secret needs at least 32, e.g. openssl rand -hex 32"])
        #expect(ConfigFixtures.problems(base + hook + "}", environment: [
            "ECD_EVENTS_WEBHOOK_SECRET": Self.hookSecret, "ECD_EVENTS_WEBHOOK_SECRETS": #"["\#(Self.hookSecret)"]"#,
        ]) == ["ECD_EVENTS_WEBHOOK_SECRETS: set events.webhook_secret or events.webhook_secrets, not both"])
        #expect(ConfigFixtures.problems(base + hook + "}", environment: [
            "ECD_EVENTS_WEBHOOK_SECRETS": #"["\#(Self.hookSecret)", "\#(Self.hookSecret)"]"#,
        ]) == ["ECD_EVENTS_WEBHOOK_SECRETS[1]: listed twice"])
    }
}
