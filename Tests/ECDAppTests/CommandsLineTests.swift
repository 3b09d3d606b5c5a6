import ECDTestSupport
import Foundation
import Testing

@Suite("ecd command line", .serialized)
struct CommandsLineTests {
    @Test("--help lists the subcommands and exits 0")
    func help() async throws {
        let result = try await ECDBinary.run(["--help"])
        #expect(result.code == 0)
        for name in ["check-config", "accounts", "token", "connect-link"] {
            #expect(result.stdout.contains(name), "\(name) missing from --help")
        }
        #expect(result.stderr.isEmpty)
    }

    @Test("every subcommand has its own --help", arguments: [
        ["check-config", "--help"], ["accounts", "--help"], ["accounts", "list", "--help"], ["accounts", "show", "--help"],
        ["accounts", "request", "--help"], ["accounts", "revoke", "--help"], ["token", "--help"], ["connect-link", "--help"],
    ])
    func subcommandHelp(_ arguments: [String]) async throws {
        let result = try await ECDBinary.run(arguments)
        #expect(result.code == 0)
        #expect(result.stdout.contains("USAGE: ecd \(arguments.dropLast().joined(separator: " "))"))
    }

    @Test("check-config with a good file prints every key, secrets redacted, and exits 0")
    func checkConfigGood() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let secretFile = try folder.write("secret", "file-secret-Qx9\n")
        let path = try folder.write("ecd.json", ConfigFixtures.minimalJSON)
        let result = try await ECDBinary.run(["check-config", "--config", path], environment: [
            "ECD_CRONOFY_CLIENT_SECRET_FILE": secretFile, "ECD_LOG_LEVEL": "debug",
        ])
        #expect(result.code == 0, "\(result.stderr)")
        #expect(result.stdout.contains("cronofy.client_secret = <redacted>  # read from \(secretFile)"))
        #expect(result.stdout.contains(#"log.level = "debug"  # from $ECD_LOG_LEVEL"#))
        #expect(result.stdout.contains(#"internal.api_keys = ["<redacted>"]"#))
        for secret in ["file-secret-Qx9", ConfigFixtures.clientSecret, ConfigFixtures.apiKey, ConfigFixtures.keyBase64] {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret))
        }
    }

    @Test("serve and check-config refuse an internal listener other hosts can reach unless allowed")
    func remoteInternalListener() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("ecd.json", ConfigFixtures.minimalJSON)
        let line = "ECD_INTERNAL_LISTEN: 0.0.0.0:8081 can be reached from other hosts; listen on a loopback address "
            + "(127.0.0.1, [::1], localhost) or unix:PATH, or set internal.allow_remote to true and put TLS in front"
        for command in ["check-config", "serve"] {
            let result = try await ECDBinary.run([command, "--config", path], environment: ["ECD_INTERNAL_LISTEN": "0.0.0.0:8081"])
            #expect(result.code == 1, "\(command): \(result.stderr)")
            #expect(result.stderr.contains(line), "\(command): \(result.stderr)")
        }
        let allowed = try await ECDBinary.run(["check-config", "--config", path], environment: [
            "ECD_INTERNAL_LISTEN": "0.0.0.0:8081", "ECD_INTERNAL_ALLOW_REMOTE": "true",
        ])
        #expect(allowed.code == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("internal.allow_remote = true  # from $ECD_INTERNAL_ALLOW_REMOTE"))
    }

    @Test("check-config reads Config/ecd.json from the working directory by default")
    func checkConfigDefaultPath() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try FileManager.default.createDirectory(at: folder.url.appendingPathComponent("Config"), withIntermediateDirectories: true)
        try folder.write("Config/ecd.json", ConfigFixtures.minimalJSON)
        let result = try await ECDBinary.run(["check-config"], directory: folder.url)
        #expect(result.code == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("# configuration file: Config/ecd.json"))
    }

    @Test("check-config with a bad file prints one line per problem naming the key and exits 1")
    func checkConfigBad() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("ecd.json", """
            {"cronofy": {"client_secret": "leak-me-not", "data_center": "xx"},
             "public": {"base_url": "http://ecd.example.com"},
             "internal": {"api_keys": ["k-0123456789abcdefghij0123456789"]},
             "storage": {"encryption_keys": [{"id": "k1", "key": "dG9vIHNob3J0"}]},
             "refresh": {"cronofy_requests_per_minute": 0},
             "typo": {}}
            """)
        let result = try await ECDBinary.run(["check-config", "--config", path])
        #expect(result.code == 1)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first == "ecd: configuration has 6 problems:")
        #expect(Set(lines.dropFirst()) == [
            "typo: unknown key",
            "cronofy.client_id: required",
            "cronofy.data_center: must be one of us, uk, de, au, ca, sg",
            "public.base_url: must be https (http only for loopback hosts)",
            "storage.encryption_keys[0].key: must be base64 of 32 bytes",
            "refresh.cronofy_requests_per_minute: must be positive",
        ])
        #expect(!result.stderr.contains("leak-me-not"))
    }

    @Test("bad usage exits 2 with a message on stderr", arguments: [
        ["bogus"], ["check-config", "--no-such-flag"], ["check-config", "--config"], ["token"],
        ["accounts", "list", "--limit", "0"], ["accounts", "request"], ["token", "a@b.com", "--min-validity", "soon"],
        ["token", "a@b.com", "--url", "https://127.0.0.1:8081"],
    ])
    func badUsage(_ arguments: [String]) async throws {
        let result = try await ECDBinary.run(arguments, environment: ["ECD_API_KEY": "k"])
        #expect(result.code == 2, "\(arguments): \(result.stderr)")
        #expect(!result.stderr.isEmpty)
        #expect(result.stdout.isEmpty)
    }

    @Test("a client without ECD_API_KEY fails with an explanation")
    func missingKey() async throws {
        let result = try await ECDBinary.run(["token", "a@b.com"])
        #expect(result.code == 1)
        #expect(result.stderr.contains("ECD_API_KEY"))
    }

    @Test("token prints the JSON answer and sends the key as a bearer token")
    func tokenSuccess() async throws {
        let body = #"{"access_token":"at","token_type":"bearer","expires_in":3600}"#
        let server = try CannedHTTPServer(response: CannedHTTPServer.response(status: "200 OK", json: body))
        let result = try await ECDBinary.run(
            ["token", "Alice+x@example.com", "--min-validity", "120", "--url", "http://127.0.0.1:\(server.port)"],
            environment: ["ECD_API_KEY": "cli-key-1"])
        let request = await server.request()
        #expect(result.code == 0, "\(result.stderr)")
        #expect(result.stdout == body + "\n")
        #expect(request.hasPrefix("GET /v1/accounts/Alice%2Bx@example.com/token?min_validity=120 HTTP/1.1\r\n"))
        #expect(request.contains("\r\nAuthorization: Bearer cli-key-1\r\n"))
    }

    @Test("accounts request posts the batch shape over a unix socket")
    func requestOverUnixSocket() async throws {
        let path = "/tmp/ecd-cli-\(UInt32.random(in: 0...UInt32.max)).sock"
        let server = try CannedHTTPServer(
            response: CannedHTTPServer.response(status: "202 Accepted", json: #"{"accounts":[]}"#), unixPath: path)
        let result = try await ECDBinary.run(
            ["accounts", "request", "a@example.com", "b@example.com", "--scope", "read_events", "--url", "unix:\(path)"],
            environment: ["ECD_API_KEY": "k"])
        let request = await server.request()
        #expect(result.code == 0, "\(result.stderr)")
        #expect(request.hasPrefix("POST /v1/accounts HTTP/1.1\r\n"))
        let body = try #require(request.components(separatedBy: "\r\n\r\n").last)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: [[String: String]]])
        #expect(json["accounts"] == [["email": "a@example.com", "scope": "read_events"], ["email": "b@example.com", "scope": "read_events"]])
    }

    @Test("an error answer prints its message on stderr and exits 1")
    func errorAnswer() async throws {
        let server = try CannedHTTPServer(response: CannedHTTPServer.response(
            status: "409 Conflict",
            json: #"{"error":{"code":"account_not_active","message":"the account is pending"},"status":"pending"}"#))
        let result = try await ECDBinary.run(
            ["accounts", "revoke", "a@example.com", "--url", "http://127.0.0.1:\(server.port)"], environment: ["ECD_API_KEY": "k"])
        #expect(await server.request().hasPrefix("DELETE /v1/accounts/a@example.com HTTP/1.1"))
        #expect(result.code == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "ecd: the account is pending (HTTP 409, account_not_active)\n")
    }
}
