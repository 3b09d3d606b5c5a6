import Foundation
import Testing
@testable import ECDApp

@Suite("Configuration validation")
struct ConfigurationValidationTests {
    /// Replaces one section of the minimal configuration with `section`'s JSON.
    static func minimal(with section: String, _ value: String) -> String {
        var object = try! JSONSerialization.jsonObject(with: Data(ConfigFixtures.minimalJSON.utf8)) as! [String: Any]
        let replacement = try! JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
        object[section] = replacement
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let section: String
        let json: String
        let problem: String
        var testDescription: String { problem }
    }

    static let cases: [Case] = [
        Case(section: "cronofy", json: #"{"client_secret": "s"}"#, problem: "cronofy.client_id: required"),
        Case(section: "cronofy", json: #"{"client_id": "c"}"#,
             problem: "cronofy.client_secret: required (set cronofy.client_secret or cronofy.client_secret_file)"),
        Case(section: "cronofy", json: #"{"client_id": "", "client_secret": "s"}"#,
             problem: "cronofy.client_id: required (it is empty)"),
        Case(section: "cronofy", json: #"{"client_id": 42, "client_secret": "s"}"#,
             problem: "cronofy.client_id: must be a string, not a number"),
        Case(section: "cronofy", json: #"{"client_id": "c", "client_secret": "s", "data_center": "eu"}"#,
             problem: "cronofy.data_center: must be one of us, uk, de, au, ca, sg"),
        Case(section: "cronofy", json: #"{"client_id": "c", "client_secret": "s", "api_url": "http://api.example.com"}"#,
             problem: "cronofy.api_url: must be https (http only for loopback hosts)"),
        Case(section: "cronofy", json: #"{"client_id": "c", "client_secret": "s", "app_url": "not a url"}"#,
             problem: "cronofy.app_url: must be an absolute URL (https://host/…)"),
        Case(section: "cronofy", json: #"{"client_id": "c", "client_secret": "s", "require_callback_signature": "yes"}"#,
             problem: "cronofy.require_callback_signature: must be true or false, not a string"),
        Case(section: "cronofy", json: #"{"client_id": "c", "client_secret": "s", "clientid": "x"}"#,
             problem: "cronofy.clientid: unknown key; did you mean cronofy.client_id?"),
        Case(section: "public", json: #"{}"#, problem: "public.base_url: required"),
        Case(section: "public", json: #"{"base_url": "http://ecd.example.com"}"#,
             problem: "public.base_url: must be https (http only for loopback hosts)"),
        Case(section: "public", json: #"{"base_url": "ftp://ecd.example.com"}"#,
             problem: "public.base_url: must be an https URL"),
        Case(section: "public", json: #"{"base_url": "https://ecd.example.com/?x=1"}"#,
             problem: "public.base_url: must not have a query, fragment or user"),
        Case(section: "public", json: #"{"base_url": "https://ecd.example.com/ecd"}"#,
             problem: #"public.base_url: must not have a path (found "/ecd"): ecd serves its routes at the root of the host"#),
        Case(section: "public", json: #"{"base_url": "https://ecd.example.com/ecd/"}"#,
             problem: #"public.base_url: must not have a path (found "/ecd/"): ecd serves its routes at the root of the host"#),
        Case(section: "public", json: #"{"base_url": "https://e.example.com", "listen": "8080"}"#,
             problem: "public.listen: must be host:port, [ipv6]:port or unix:PATH"),
        Case(section: "public", json: #"{"base_url": "https://e.example.com", "listen": "127.0.0.1:99999"}"#,
             problem: "public.listen: port must be a number from 0 to 65535"),
        Case(section: "public", json: #"{"base_url": "https://e.example.com", "listen": "unix:/tmp/p.sock"}"#,
             problem: "public.listen: must be host:port (unix sockets are not allowed here)"),
        Case(section: "public", json: #"{"base_url": "https://e.example.com", "listen": "example.com:80"}"#,
             problem: "public.listen: host must be an IP address or localhost"),
        Case(section: "public", json: #"{"base_url": "https://e.example.com", "trusted_proxies": ["10.0.0.0/33"]}"#,
             problem: "public.trusted_proxies[0]: must be an IP address or CIDR block (10.0.0.0/8, ::1/128)"),
        Case(section: "public", json: #"{"base_url": "https://e.example.com", "trusted_proxies": "10.0.0.0/8"}"#,
             problem: "public.trusted_proxies: must be a list of strings, not a string"),
        Case(section: "internal", json: #"{}"#,
             problem: "internal.api_keys: required (set internal.api_keys or internal.api_keys_file)"),
        Case(section: "internal", json: #"{"api_keys": []}"#, problem: "internal.api_keys: required (the list is empty)"),
        Case(section: "internal", json: #"{"api_keys": ["ok-0123456789abcdefghij0123456789", ""]}"#, problem: "internal.api_keys[1]: must not be empty"),
        Case(section: "internal", json: #"{"api_keys": ["k-0123456789abcdefghij0123456789"], "listen": "unix:"}"#,
             problem: "internal.listen: unix: needs a socket path"),
        Case(section: "internal", json: #"{"api_keys": ["0123456789012345678901234567890"]}"#,
             problem: "internal.api_keys[0]: too short (31 characters): an API key needs at least 32, e.g. openssl rand -hex 32"),
        Case(section: "internal", json: #"{"api_keys": ["k-0123456789abcdefghij0123456789"], "listen": "0.0.0.0:8081"}"#,
             problem: "internal.listen: 0.0.0.0:8081 can be reached from other hosts; listen on a loopback address "
                + "(127.0.0.1, [::1], localhost) or unix:PATH, or set internal.allow_remote to true and put TLS in front"),
        Case(section: "internal", json: #"{"api_keys": ["k-0123456789abcdefghij0123456789"], "listen": "[::]:8081"}"#,
             problem: "internal.listen: [::]:8081 can be reached from other hosts; listen on a loopback address "
                + "(127.0.0.1, [::1], localhost) or unix:PATH, or set internal.allow_remote to true and put TLS in front"),
        Case(section: "internal", json: #"{"api_keys": ["k-0123456789abcdefghij0123456789"], "listen": "192.168.1.10:8081", "allow_remote": false}"#,
             problem: "internal.listen: 192.168.1.10:8081 can be reached from other hosts; listen on a loopback address "
                + "(127.0.0.1, [::1], localhost) or unix:PATH, or set internal.allow_remote to true and put TLS in front"),
        Case(section: "internal", json: #"{"api_keys": ["k-0123456789abcdefghij0123456789"], "allow_remote": "yes"}"#,
             problem: "internal.allow_remote: must be true or false, not a string"),
        Case(section: "internal", json: #"{"api_keys_file": "/nonexistent/ecd-keys"}"#,
             problem: "internal.api_keys_file: cannot read /nonexistent/ecd-keys: no such file"),
        Case(section: "storage", json: #"{}"#,
             problem: "storage.encryption_keys: required (set storage.encryption_keys or storage.encryption_keys_file)"),
        Case(section: "storage", json: #"{"encryption_keys": [{"id": "k1", "key": "c2hvcnQ="}]}"#,
             problem: "storage.encryption_keys[0].key: must be base64 of 32 bytes"),
        Case(section: "storage", json: #"{"encryption_keys": [{"key": "\#(ConfigFixtures.keyBase64)"}]}"#,
             problem: "storage.encryption_keys[0].id: required (a non-empty string)"),
        Case(section: "storage", json: #"{"encryption_keys": [{"id": "k1", "key": "\#(ConfigFixtures.keyBase64)", "alg": "x"}]}"#,
             problem: "storage.encryption_keys[0].alg: unknown key"),
        Case(section: "storage", json: #"{"encryption_keys": "k1"}"#,
             problem: #"storage.encryption_keys: must be a list of {"id", "key"} objects, not a string"#),
        Case(section: "storage", json: #"{"encryption_keys": [{"id": "k1", "key": "\#(ConfigFixtures.keyBase64)"}], "path": ""}"#,
             problem: "storage.path: must not be empty"),
        Case(section: "accounts", json: #"{"callback_timeout_seconds": 0}"#,
             problem: "accounts.callback_timeout_seconds: must be positive (seconds)"),
        Case(section: "accounts", json: #"{"callback_attempts": 0}"#,
             problem: "accounts.callback_attempts: must be positive"),
        Case(section: "accounts", json: #"{"reauthorize_interval_seconds": -1}"#,
             problem: "accounts.reauthorize_interval_seconds: must be zero or more (seconds)"),
        Case(section: "accounts", json: #"{"callback_timeout_seconds": "900"}"#,
             problem: "accounts.callback_timeout_seconds: must be an integer, not a string"),
        Case(section: "accounts", json: #"{"default_scope": "read_account write_everything"}"#,
             problem: "accounts.default_scope: must be within service_account.delegated_scope (not in it: write_everything)"),
        Case(section: "refresh", json: #"{"cronofy_requests_per_minute": 0}"#,
             problem: "refresh.cronofy_requests_per_minute: must be positive"),
        Case(section: "refresh", json: #"{"lead_seconds": -1}"#, problem: "refresh.lead_seconds: must be zero or more (seconds)"),
        Case(section: "refresh", json: #"{"lead_seconds": 1.5}"#, problem: "refresh.lead_seconds: must be an integer, not a number"),
        Case(section: "events", json: #"{"webhook_url": "http://hooks.example.com"}"#,
             problem: "events.webhook_url: must be https (http only for loopback hosts)"),
        Case(section: "events", json: #"{"retention_days": 0}"#, problem: "events.retention_days: must be positive (days)"),
        Case(section: "events", json: #"{"retention_days": 40000}"#, problem: "events.retention_days: must be at most 36500 (days)"),
        Case(section: "log", json: #"{"level": "verbose"}"#,
             problem: "log.level: must be one of trace, debug, info, notice, warning, error, critical"),
        Case(section: "log", json: #"{"format": "xml"}"#, problem: "log.format: must be json or text"),
        Case(section: "service_account", json: #"{"scope": ""}"#, problem: "service_account.scope: must not be empty"),
        Case(section: "metrics", json: #"{}"#, problem: "metrics: unknown key"),
        Case(section: "log", json: #""info""#, problem: "log: must be an object, not a string"),
    ]

    @Test("each problem is one line naming its key", arguments: cases)
    func problem(_ testCase: Case) {
        let json = Self.minimal(with: testCase.section, testCase.json)
        #expect(ConfigFixtures.problems(json) == [testCase.problem])
    }

    @Test("every problem is reported at once, not only the first")
    func allProblems() {
        let json = #"""
            {"cronofy": {"data_center": "mars"},
             "public": {"base_url": "http://ecd.example.com", "extra": 1},
             "storage": {"encryption_keys": [{"id": "a", "key": "\#(ConfigFixtures.keyBase64)"},
                                             {"id": "b", "key": "bm9wZQ=="},
                                             {"id": "a", "key": "\#(ConfigFixtures.keyBase64)"}]},
             "refresh": {"cronofy_requests_per_minute": -5}}
            """#
        let problems = ConfigFixtures.problems(json)
        #expect(Set(problems) == [
            "public.extra: unknown key",
            "cronofy.client_id: required",
            "cronofy.client_secret: required (set cronofy.client_secret or cronofy.client_secret_file)",
            "cronofy.data_center: must be one of us, uk, de, au, ca, sg",
            "public.base_url: must be https (http only for loopback hosts)",
            "internal.api_keys: required (set internal.api_keys or internal.api_keys_file)",
            "storage.encryption_keys[1].key: must be base64 of 32 bytes",
            "storage.encryption_keys[2].id: duplicate id a",
            "refresh.cronofy_requests_per_minute: must be positive",
        ])
        #expect(problems.count == 9)
    }

    @Test("environment values are checked and named by their variable")
    func environmentProblems() {
        let problems = ConfigFixtures.problems(ConfigFixtures.minimalJSON, environment: [
            "ECD_REFRESH_LEAD_SECONDS": "soon",
            "ECD_INTERNAL_API_KEYS": "not-json",
            "ECD_CRONOFY_REQUIRE_CALLBACK_SIGNATURE": "maybe",
            "ECD_ACCOUNTS_CALLBACK_TIMEOUT_SECONDS": "0",
            "ECD_PUBLIC_TRUSTED_PROXIES": #"["10.0.0.0/8", "nine"]"#,
        ])
        #expect(Set(problems) == [
            "ECD_REFRESH_LEAD_SECONDS: must be an integer",
            #"ECD_INTERNAL_API_KEYS: must be a JSON list, e.g. ["a", "b"]"#,
            "ECD_CRONOFY_REQUIRE_CALLBACK_SIGNATURE: must be true or false",
            "ECD_ACCOUNTS_CALLBACK_TIMEOUT_SECONDS: must be positive (seconds)",
            "ECD_PUBLIC_TRUSTED_PROXIES[1]: must be an IP address or CIDR block (10.0.0.0/8, ::1/128)",
        ])
    }

    @Test("an unknown ECD_ variable near a key's is a problem with a suggestion; other ECD_ variables are not")
    func unknownVariables() {
        #expect(ConfigFixtures.problems(ConfigFixtures.minimalJSON, environment: [
            "ECD_LOG_LEVL": "debug", "ECD_CRONOFY_CLIENTID": "x", "ECD_API_KEY": "k", "ECD_BINARY": "/x",
            "ECD_URL": "http://127.0.0.1:8081", "ECD_REFERSH_LEAD_SECONDS": "60", "ECD_LOG_COLOUR": "1",
            "ECD_SERVICE_ACCOUNT_SCOPE": "service_account/accounts/manage",
        ]) == [
            "ECD_CRONOFY_CLIENTID: not a configuration key; did you mean ECD_CRONOFY_CLIENT_ID (cronofy.client_id)?",
            "ECD_LOG_COLOUR: not a configuration key",
            "ECD_LOG_LEVL: not a configuration key; did you mean ECD_LOG_LEVEL (log.level)?",
            "ECD_REFERSH_LEAD_SECONDS: not a configuration key; did you mean ECD_REFRESH_LEAD_SECONDS (refresh.lead_seconds)?",
        ])
    }

    @Test("an unknown key in the file suggests the closest known one", arguments: [
        (#"{"refresh": {"lead_second": 60}}"#, "refresh.lead_second: unknown key; did you mean refresh.lead_seconds?"),
        (#"{"refresh": {"drain_seconds": 5}}"#, "refresh.drain_seconds: unknown key; did you mean server.drain_seconds?"),
        (#"{"refesh": {"lead_seconds": 60}}"#, "refesh: unknown key; did you mean refresh?"),
        (#"{"log.level": "debug"}"#, #"log.level: unknown key; did you mean {"log": {"level": …}}?"#),
        (#"{"cronofy": {"client_secret_fil": "/x"}}"#, "cronofy.client_secret_fil: unknown key; did you mean cronofy.client_secret_file?"),
        (#"{"cronofy": {"colour": "blue"}}"#, "cronofy.colour: unknown key"),
    ])
    func unknownKeySuggestion(_ json: String, _ expected: String) {
        // Merged into a complete file, so the unknown key is the only problem.
        var object = try! JSONSerialization.jsonObject(with: Data(ConfigFixtures.minimalJSON.utf8)) as! [String: Any]
        for (key, value) in try! JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any] {
            if var section = object[key] as? [String: Any], let extra = value as? [String: Any] {
                section.merge(extra) { _, new in new }
                object[key] = section
            } else {
                object[key] = value
            }
        }
        let text = String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        #expect(ConfigFixtures.problems(text) == [expected])
    }

    @Test("a file that is not JSON is named with its line and column, and nothing else is reported", arguments: [
        ("{\n  \"cronofy\": {\"client_id\": \"c\"}\n  \"public\": {}\n}", "line 3, column 3: expected , or } after a value (is a comma missing?)"),
        ("{\n  \"log\": {\"level\": \"info\",}\n}", "line 2, column 27: a comma before } (JSON allows no trailing comma)"),
        ("{\"log\": {\"level\": 'info'}}", "line 1, column 19: strings need double quotes"),
        ("{\n\"refresh\": {\"lead_seconds\": 0300}}", "line 2, column 29: invalid number (no leading zeros)"),
        ("{\"log\": {\"level\": \"debug\", \"level\": \"info\"}}", #"line 1, column 28: "level" appears twice in this object"#),
        ("{\n  // a comment\n}", #"line 2, column 3: JSON has no comments (a key starting with "//" is ignored and can hold one)"#),
        ("{\"cronofy\": {\"client_secret\": \"s3cré", "line 1, column 31: unexpected end of file: a string is not closed"),
        ("{\"é\": 1} x", "line 1, column 10: unexpected text after the end of the JSON value"),
    ])
    func badJSON(_ text: String, _ expected: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("ecd.json", text)
        do {
            _ = try AppConfiguration.load(configPath: path, environment: [:], mode: .serve, defaultConfigPath: "/nonexistent")
            Issue.record("loaded")
        } catch {
            // No "cronofy.client_id: required" and the like: the keys may well be in the broken file.
            #expect(error.problems == ["config: \(path) is not valid JSON: \(expected)"])
        }
    }

    @Test("a JSON _file companion is named with its line and column, without its contents")
    func badJSONFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let keys = try folder.write("keys.json", "[{\"id\": \"k1\", \"key\": \"c2VjcmV0\"\n  {\"id\": \"k2\"}]")
        let problems = ConfigFixtures.problems(ConfigFixtures.minimalJSON, environment: ["ECD_STORAGE_ENCRYPTION_KEYS_FILE": keys])
        #expect(problems == ["storage.encryption_keys_file: \(keys) is not valid JSON: line 2, column 3: expected , or } after a value (is a comma missing?)"])
    }

    @Test("both listeners on one address are refused", arguments: [
        ("127.0.0.1:8080", "127.0.0.1:8080", true), ("0.0.0.0:8080", "127.0.0.1:8080", true),
        ("localhost:9000", "127.0.0.1:9000", true), ("[::]:8080", "127.0.0.1:8080", true),
        ("127.0.0.1:8080", "127.0.0.1:8081", false), ("127.0.0.1:0", "127.0.0.1:0", false),
        ("10.0.0.1:8080", "127.0.0.1:8080", false), ("0.0.0.0:8080", "[::1]:8080", false),
    ])
    func sameAddress(_ publicListen: String, _ internalListen: String, _ clash: Bool) {
        let problems = ConfigFixtures.problems(ConfigFixtures.minimalJSON, environment: [
            "ECD_PUBLIC_LISTEN": publicListen, "ECD_INTERNAL_LISTEN": internalListen,
        ]).filter { !$0.contains("can be reached from other hosts") }
        #expect(problems == (clash ? [
            "ECD_INTERNAL_LISTEN: \(internalListen) is the address of public.listen (\(publicListen)) too: the two listeners need different addresses",
        ] : []))
    }

    @Test("a key and its _file companion together are refused")
    func bothSpellings() {
        let json = Self.minimal(with: "cronofy", #"{"client_id": "c", "client_secret": "s", "client_secret_file": "/x"}"#)
        #expect(ConfigFixtures.problems(json)
            == ["cronofy.client_secret: set both cronofy.client_secret and cronofy.client_secret_file; keep one"])
        #expect(ConfigFixtures.problems(ConfigFixtures.minimalJSON, environment: [
            "ECD_CRONOFY_CLIENT_SECRET": "a", "ECD_CRONOFY_CLIENT_SECRET_FILE": "/b",
        ]) == ["cronofy.client_secret: set by both $ECD_CRONOFY_CLIENT_SECRET and $ECD_CRONOFY_CLIENT_SECRET_FILE; keep one"])
    }

    @Test("a missing or broken config file is a problem of its own")
    func badFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let broken = try folder.write("broken.json", #"{"cronofy": {"client_id": "#)
        func problems(_ path: String) -> [String] {
            do {
                _ = try AppConfiguration.load(configPath: path, environment: [:], mode: .database)
                return []
            } catch { return error.problems }
        }
        #expect(problems("/nonexistent/ecd.json") == ["config: cannot read /nonexistent/ecd.json: no such file"])
        #expect(problems(broken).count == 1)
        #expect(problems(broken).first?.hasPrefix("config: \(broken) is not valid JSON") == true)
        #expect(problems(try folder.write("list.json", "[]")) == ["config: \(folder.url.path)/list.json must hold a JSON object"])
    }

    @Test("the internal listener may be anything local; a remote address only with internal.allow_remote", arguments: [
        ("127.0.0.1:8081", false, true), ("127.8.9.10:1", false, true), ("[::1]:8081", false, true),
        ("localhost:8081", false, true), ("unix:/run/ecd/internal.sock", false, true), ("[::ffff:127.0.0.1]:8081", false, true),
        ("0.0.0.0:8081", false, false), ("[::]:8081", false, false), ("10.0.0.5:8081", false, false),
        ("[::ffff:10.0.0.5]:8081", false, false), ("0.0.0.0:8081", true, true), ("[2001:db8::1]:8081", true, true),
    ])
    func internalListenLocality(_ listen: String, _ allowRemote: Bool, _ accepted: Bool) {
        let json = Self.minimal(with: "internal", #"{"api_keys": ["k-0123456789abcdefghij0123456789"], "listen": "\#(listen)", "allow_remote": \#(allowRemote)}"#)
        #expect(ConfigFixtures.problems(json).isEmpty == accepted, "\(ConfigFixtures.problems(json))")
    }

    @Test("https is required except for loopback hosts", arguments: [
        ("https://ecd.example.com", true), ("http://127.0.0.1:8080", true), ("http://[::1]:8080", true),
        ("http://localhost:8080", true), ("HTTP://LOCALHOST", true), ("http://127.0.0.2", false),
        ("http://ecd.example.com", false), ("http://localhost.example.com", false), ("https://", false),
        ("/relative", false), ("ws://127.0.0.1", false),
    ])
    func httpsRule(_ url: String, _ accepted: Bool) {
        let result = URLRule.check(url)
        if case .success = result { #expect(accepted) } else { #expect(!accepted) }
    }
}
