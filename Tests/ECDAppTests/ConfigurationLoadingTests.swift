import ECDCronofy
import Foundation
import Logging
import Testing
@testable import ECDApp

@Suite("Configuration loading")
struct ConfigurationLoadingTests {
    @Test("a minimal file gives every default of api-contract.md §2")
    func defaults() throws {
        let config = try ConfigFixtures.load(ConfigFixtures.minimalJSON)
        #expect(config.cronofy.clientID == "cid-123")
        #expect(config.cronofy.clientSecret == ConfigFixtures.clientSecret)
        #expect(config.cronofy.dataCenter == .us)
        #expect(config.cronofy.apiURL.absoluteString == "https://api.cronofy.com")
        #expect(config.cronofy.appURL.absoluteString == "https://app.cronofy.com")
        #expect(config.cronofy.requireCallbackSignature == false)
        #expect(config.publicListener.listen == .tcp(host: "127.0.0.1", port: 8080))
        #expect(config.publicListener.baseURL?.absoluteString == "https://ecd.example.com")
        #expect(config.publicListener.trustedProxies == .loopback)
        #expect(config.internalListener.listen == .tcp(host: "127.0.0.1", port: 8081))
        #expect(config.internalListener.apiKeys.isValid(ConfigFixtures.apiKey))
        #expect(config.internalListener.apiKeys.count == 1)
        #expect(config.storage.path == "data/ecd.sqlite")
        #expect(config.storage.encryptionKeys == [EncryptionKeySetting(id: "k1", bytes: ConfigFixtures.keyBytes)])
        #expect(config.serviceAccount.scope == "service_account/accounts/manage service_account/resources/manage")
        #expect(config.serviceAccount.delegatedScope
            == "read_account list_calendars read_events create_event delete_event read_free_busy")
        #expect(config.accounts.defaultScope == "read_account list_calendars read_events create_event delete_event")
        #expect(config.accounts.callbackTimeoutSeconds == 900)
        #expect(config.accounts.callbackTimeout == .seconds(900))
        #expect(config.accounts.callbackAttempts == 3)
        #expect(config.accounts.reauthorizeIntervalSeconds == 3600)
        #expect(config.refresh.leadSeconds == 300)
        #expect(config.refresh.cronofyRequestsPerMinute == 400)
        #expect(config.events.webhookURL == nil)
        #expect(config.log.level == .info)
        #expect(config.log.format == .json)
        #expect(config.events.retentionDays == 90)
        #expect(config.origins["storage.path"] == .defaultValue)
    }

    @Test("every key set in the file is read with its type")
    func everyKeyFromFile() throws {
        let json = """
            {
              "cronofy": {"client_id": "cid", "client_secret": "s", "data_center": "de",
                          "require_callback_signature": true},
              "public": {"listen": "0.0.0.0:18080", "base_url": "https://ecd.example.com/",
                         "trusted_proxies": ["10.0.0.0/8", "fd00::/8"]},
              "internal": {"listen": "unix:/run/ecd/internal.sock", "api_keys": ["a1-0123456789abcdefghij0123456789", "a2-0123456789abcdefghij0123456789"]},
              "storage": {"path": "/var/lib/ecd/ecd.sqlite",
                          "encryption_keys": [{"id": "k2", "key": "\(ConfigFixtures.keyBase64)"},
                                              {"id": "k1", "key": "\(ConfigFixtures.keyBase64)"}]},
              "service_account": {"scope": "service_account/accounts/manage", "delegated_scope": "read_account read_events"},
              "accounts": {"default_scope": "read_events", "callback_timeout_seconds": 60, "callback_attempts": 5,
                           "reauthorize_interval_seconds": 0},
              "refresh": {"lead_seconds": 0, "cronofy_requests_per_minute": 5000},
              "events": {"webhook_url": "https://hooks.example.com/ecd", "retention_days": 30,
                         "webhook_secrets": ["new-hook-secret-0123456789abcdef0123", "old-hook-secret-0123456789abcdef0123"]},
              "log": {"level": "debug", "format": "text"},
              "audit": {"path": "/var/log/ecd/audit.log"},
              "//": "comments are ignored"
            }
            """
        let config = try ConfigFixtures.load(json)
        #expect(config.cronofy.dataCenter == .de)
        #expect(config.cronofy.apiURL == DataCenter.de.apiURL)
        #expect(config.cronofy.appURL == DataCenter.de.appURL)
        #expect(config.cronofy.requireCallbackSignature)
        #expect(config.publicListener.listen == .tcp(host: "0.0.0.0", port: 18080))
        #expect(config.publicListener.baseURL?.absoluteString == "https://ecd.example.com")
        #expect(config.publicListener.trustedProxies.contains(address: "10.1.2.3"))
        #expect(config.publicListener.trustedProxies.contains(address: "fd12::1"))
        #expect(!config.publicListener.trustedProxies.contains(address: "127.0.0.1"))
        #expect(config.internalListener.listen == .unix(path: "/run/ecd/internal.sock"))
        #expect(config.internalListener.apiKeys.count == 2)
        #expect(config.internalListener.apiKeys.matchingKeyIndex(Array("a2-0123456789abcdefghij0123456789".utf8)) == 1)
        #expect(config.storage.path == "/var/lib/ecd/ecd.sqlite")
        #expect(config.storage.encryptionKeys.map(\.id) == ["k2", "k1"])
        #expect(config.events.webhookSecrets == ["new-hook-secret-0123456789abcdef0123", "old-hook-secret-0123456789abcdef0123"])
        #expect(config.audit.effectivePath(storagePath: config.storage.path) == "/var/log/ecd/audit.log")
        #expect(config.serviceAccount.delegatedScope == "read_account read_events")
        #expect(config.accounts.defaultScope == "read_events")
        #expect(config.accounts.callbackTimeoutSeconds == 60)
        #expect(config.accounts.callbackAttempts == 5)
        #expect(config.accounts.reauthorizeIntervalSeconds == 0)
        #expect(config.refresh.leadSeconds == 0)
        #expect(config.refresh.cronofyRequestsPerMinute == 5000)
        #expect(config.events.webhookURL?.absoluteString == "https://hooks.example.com/ecd")
        #expect(config.events.retentionDays == 30)
        #expect(config.events.retention == .seconds(30 * 86_400))
        #expect(config.log.level == .debug)
        #expect(config.log.format == .text)
    }

    @Test("api_url and app_url override the data center's hosts")
    func urlOverrides() throws {
        let config = try ConfigFixtures.load(ConfigFixtures.minimalJSON, environment: [
            "ECD_CRONOFY_API_URL": "http://127.0.0.1:9000/",
            "ECD_CRONOFY_APP_URL": "http://localhost:9001",
            "ECD_CRONOFY_DATA_CENTER": "uk",
        ])
        #expect(config.cronofy.dataCenter == .uk)
        #expect(config.cronofy.apiURL.absoluteString == "http://127.0.0.1:9000")
        #expect(config.cronofy.appURL.absoluteString == "http://localhost:9001")
        #expect(config.cronofy.clientConfiguration.apiURL.absoluteString == "http://127.0.0.1:9000")
    }

    @Test("the environment wins over the file, with typed parsing and JSON lists")
    func environmentWins() throws {
        let config = try ConfigFixtures.load(ConfigFixtures.minimalJSON, environment: [
            "ECD_CRONOFY_CLIENT_ID": "from-env",
            "ECD_CRONOFY_REQUIRE_CALLBACK_SIGNATURE": "true",
            "ECD_REFRESH_LEAD_SECONDS": "120",
            "ECD_INTERNAL_API_KEYS": #"["env-key-1-0123456789abcdefghij0123456789", "env-key-2-0123456789abcdefghij0123456789"]"#,
            "ECD_PUBLIC_TRUSTED_PROXIES": #"["192.168.0.0/16"]"#,
            "ECD_LOG_LEVEL": "warning",
        ])
        #expect(config.cronofy.clientID == "from-env")
        #expect(config.origins["cronofy.client_id"] == .environment("ECD_CRONOFY_CLIENT_ID"))
        #expect(config.cronofy.requireCallbackSignature)
        #expect(config.refresh.leadSeconds == 120)
        #expect(config.internalListener.apiKeys.isValid("env-key-2-0123456789abcdefghij0123456789"))
        #expect(!config.internalListener.apiKeys.isValid(ConfigFixtures.apiKey))
        #expect(config.publicListener.trustedProxies.contains(address: "192.168.4.4"))
        #expect(config.log.level == .warning)
    }

    @Test("the environment alone is a complete configuration source")
    func environmentOnly() throws {
        let config = try ConfigFixtures.load(nil, environment: [
            "ECD_CRONOFY_CLIENT_ID": "cid", "ECD_CRONOFY_CLIENT_SECRET": "sec",
            "ECD_PUBLIC_BASE_URL": "https://x.example.com",
            "ECD_INTERNAL_API_KEYS": #"["k-0123456789abcdefghij0123456789"]"#,
            "ECD_STORAGE_ENCRYPTION_KEYS": #"[{"id":"a","key":"\#(ConfigFixtures.keyBase64)"}]"#,
        ])
        #expect(config.sourceFile == nil)
        #expect(config.storage.encryptionKeys.first?.id == "a")
    }

    @Test("_file keys read their value from the named file")
    func fileKeys() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let secretPath = try folder.write("secret", "file-secret\n\n")
        let keysPath = try folder.write("api_keys", "# rotation in progress\nkey-new-0123456789abcdefghij0123456789\n\n  key-old-0123456789abcdefghij0123456789  \n")
        let ringPath = try folder.write("ring.json", #"[{"id":"f1","key":"\#(ConfigFixtures.keyBase64)"}]"#)
        let json = """
            {"cronofy": {"client_id": "c", "client_secret_file": "\(secretPath)"},
             "public": {"base_url": "https://e.example.com"},
             "internal": {"api_keys_file": "\(keysPath)"},
             "storage": {"encryption_keys_file": "\(ringPath)"}}
            """
        let config = try ConfigFixtures.load(json)
        #expect(config.cronofy.clientSecret == "file-secret")
        #expect(config.internalListener.apiKeys.keys.map { String(decoding: $0.plain ?? [], as: UTF8.self) }
            == ["key-new-0123456789abcdefghij0123456789", "key-old-0123456789abcdefghij0123456789"])
        #expect(config.internalListener.apiKeys.file == keysPath)
        #expect(config.storage.encryptionKeys.map(\.id) == ["f1"])
        #expect(config.origins["cronofy.client_secret"] == .referencedFile(path: secretPath, via: "cronofy.client_secret_file"))
    }

    @Test("every key accepts a _file companion, read as its type")
    func fileKeysForEveryKey() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let lead = try folder.write("lead", "120\n")
        let flag = try folder.write("flag", "true\n")
        let proxies = try folder.write("proxies.json", #"["10.0.0.0/8"]"#)
        let clientID = try folder.write("client_id", "cid-from-file\n")
        let config = try ConfigFixtures.load(ConfigFixtures.minimalJSON.replacingOccurrences(
            of: #""client_id": "cid-123""#, with: #""client_id_file": "\#(clientID)""#), environment: [
            "ECD_REFRESH_LEAD_SECONDS_FILE": lead, "ECD_CRONOFY_REQUIRE_CALLBACK_SIGNATURE_FILE": flag,
            "ECD_PUBLIC_TRUSTED_PROXIES_FILE": proxies,
        ])
        #expect(config.cronofy.clientID == "cid-from-file")
        #expect(config.refresh.leadSeconds == 120)
        #expect(config.cronofy.requireCallbackSignature)
        #expect(config.publicListener.trustedProxies.contains(address: "10.9.9.9"))
        let bad = try folder.write("bad", "soon\n")
        #expect(ConfigFixtures.problems(ConfigFixtures.minimalJSON, environment: ["ECD_REFRESH_LEAD_SECONDS_FILE": bad])
            == ["refresh.lead_seconds: must be an integer"])
    }

    @Test("ECD_X beats a JSON x_file and ECD_X_FILE beats a JSON x")
    func fileKeyPrecedence() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let secretPath = try folder.write("secret", "from-env-file\n")
        let fromEnvFile = try ConfigFixtures.load(
            ConfigFixtures.minimalJSON, environment: ["ECD_CRONOFY_CLIENT_SECRET_FILE": secretPath])
        #expect(fromEnvFile.cronofy.clientSecret == "from-env-file")
        let json = ConfigFixtures.minimalJSON.replacingOccurrences(
            of: #""client_secret": "\#(ConfigFixtures.clientSecret)""#, with: #""client_secret_file": "\#(secretPath)""#)
        let fromEnv = try ConfigFixtures.load(json, environment: ["ECD_CRONOFY_CLIENT_SECRET": "inline-env"])
        #expect(fromEnv.cronofy.clientSecret == "inline-env")
    }

    @Test("tool modes need only what they use")
    func modes() throws {
        let database = try ConfigFixtures.load(#"{"storage": {"path": "/tmp/x.sqlite"}}"#, mode: .database)
        #expect(database.storage.path == "/tmp/x.sqlite")
        #expect(database.publicListener.baseURL == nil)
        #expect(database.internalListener.apiKeys.count == 0)
        #expect(ConfigFixtures.problems(#"{"storage": {"path": "x"}}"#, mode: .keyring)
            == ["storage.encryption_keys: required (set storage.encryption_keys or storage.encryption_keys_file)"])
        // Values that are present are still checked in every mode.
        #expect(ConfigFixtures.problems(#"{"log": {"level": "loud"}}"#, mode: .database).count == 1)
    }

    @Test("SIGHUP's reload rereads internal.api_keys_file and keeps the old keys on failure")
    func reloadKeys() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let keysPath = try folder.write("api_keys", "first-0123456789abcdefghij0123456789\n")
        let config = try ConfigFixtures.load(ConfigFixtures.minimalJSON, environment: ["ECD_INTERNAL_API_KEYS_FILE": keysPath])
        let store = config.internalListener.apiKeys
        #expect(store.isValid("first-0123456789abcdefghij0123456789"))
        try folder.write("api_keys", "second-0123456789abcdefghij0123456789\nthird-0123456789abcdefghij0123456789\n")
        #expect(try store.reload() == 2)
        #expect(!store.isValid("first-0123456789abcdefghij0123456789"))
        #expect(store.isValid("third-0123456789abcdefghij0123456789"))
        try folder.write("api_keys", "\n# nothing\n")
        #expect(throws: ConfigurationError.self) { try store.reload() }
        #expect(store.isValid("second-0123456789abcdefghij0123456789"))
        #expect(throws: ConfigurationError.self) { try APIKeyStore(keys: ["inline"]).reload() }
        // A short key in the file is refused by name of its line, the old keys stay.
        try folder.write("api_keys", "fourth-0123456789abcdefghij0123456789\nshort-key\n")
        #expect {
            try store.reload()
        } throws: { error in
            (error as? ConfigurationError)?.problems == [
                "internal.api_keys_file: key 2 of \(keysPath): too short (9 characters): an API key needs at least 32, e.g. openssl rand -hex 32",
            ]
        }
        #expect(store.isValid("second-0123456789abcdefghij0123456789"))
        #expect(!store.isValid("fourth-0123456789abcdefghij0123456789"))
    }

    @Test("a short key in internal.api_keys_file is named by its position in the file, never shown")
    func shortKeyInFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let keysPath = try folder.write("api_keys", "good-0123456789abcdefghij0123456789\nsecret-but-short\n")
        #expect(ConfigFixtures.problems(ConfigFixtures.minimalJSON, environment: ["ECD_INTERNAL_API_KEYS_FILE": keysPath]) == [
            "internal.api_keys_file: key 2 of \(keysPath): too short (16 characters): an API key needs at least 32, e.g. openssl rand -hex 32",
        ])
    }

    @Test("API keys compare whole keys only")
    func apiKeyComparison() {
        let store = APIKeyStore(keys: ["abcdef", "xyz"])
        #expect(store.isValid("abcdef"))
        #expect(!store.isValid("abcde"))
        #expect(!store.isValid("abcdefg"))
        #expect(!store.isValid(""))
        #expect(store.matchingKeyIndex(Array("xyz".utf8)) == 1)
        #expect(store.identify(Array("abcdef".utf8))?.name == "#1")
        #expect(store.identify(Array("abcdef".utf8))?.role == .admin)
    }
}
