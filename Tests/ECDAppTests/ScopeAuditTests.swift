import Foundation
import ECDSimulator
import ECDTestSupport
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// `tokens` keys limited by service account and by domain, and the audit log: a line per action,
/// none holding a secret, readable through `GET /v1/audit`, and a request failing when its line
/// cannot be written.
@Suite("Scoped keys and the audit log")
struct ScopeAuditTests {
    static let domainKey = "domain-scoped-key-0123456789abcdef0123"
    static let serviceAccountKey = "sa-scoped-key-0123456789abcdef01234567"
    static let metricsKey = "metrics-key-for-audit-0123456789abcdef"

    /// Admin keys as `TestDaemon` has them, plus the limited keys, from a file the test rewrites.
    static func keysJSON(serviceAccount: String) -> String {
        """
        ["\(TestDaemon.apiKey)",
         {"name": "crm", "key": "\(domainKey)", "role": "tokens", "domains": ["scoped.example"]},
         {"name": "billing", "key": "\(serviceAccountKey)", "role": "tokens", "service_accounts": ["\(serviceAccount)"]},
         {"name": "prometheus", "key": "\(metricsKey)", "role": "metrics"}]
        """
    }

    static func request(_ daemon: TestDaemon, _ email: String, under serviceAccount: String) async throws {
        let requested = try await daemon.api("POST", "/v1/accounts", json: #"{"email":"\#(email)","service_account_id":"\#(serviceAccount)"}"#)
        #expect(requested.status == 202, "\(requested.text)")
    }

    @Test("a tokens key limited by domain or by service account reaches only those accounts")
    func scoping() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let keysFile = try folder.write("keys.json", Self.keysJSON(serviceAccount: "ser_none"))
        try await TestDaemon.run(configure: { configuration in
            configuration.internalListener.apiKeys = APIKeyStore(apiKeys: [], file: keysFile)
        }) { daemon in
            try daemon.application.apiKeys.reload()
            let first = try await daemon.connectServiceAccount()
            daemon.simulator.control.setNextServiceAccount(
                ServiceAccountIdentity(email: "admin@other.example", domain: "other.example", provider: "google"))
            try await daemon.connectServiceAccount()
            let listed = try await daemon.api("GET", "/v1/service-accounts")
            let ids = ((listed.json["service_accounts"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            let second = try #require(ids.first { $0 != first })
            try folder.write("keys.json", Self.keysJSON(serviceAccount: second))
            try daemon.application.apiKeys.reload()
            try await Self.request(daemon, "a@scoped.example", under: first)
            try await Self.request(daemon, "b@other.example", under: second)
            try await Self.request(daemon, "c@other.example", under: first)
            let statuses = try await daemon.settle(["a@scoped.example", "b@other.example", "c@other.example"])
            #expect(statuses.values.allSatisfy { $0 == "active" }, "\(statuses)")

            func status(_ method: String, _ path: String, _ key: String) async throws -> Int {
                try await daemon.api(method, path, key: key).status
            }
            // By domain: its domain only, whatever the service account.
            #expect(try await status("GET", "/v1/accounts/a@scoped.example/token", Self.domainKey) == 200)
            #expect(try await status("GET", "/v1/accounts/A@Scoped.Example", Self.domainKey) == 200)
            #expect(try await status("GET", "/v1/accounts/b@other.example/token", Self.domainKey) == 403)
            #expect(try await status("POST", "/v1/accounts/c@other.example/refresh", Self.domainKey) == 403)
            // By service account: the accounts under it only; an unknown account is refused alike.
            #expect(try await status("GET", "/v1/accounts/b@other.example/token", Self.serviceAccountKey) == 200)
            #expect(try await status("POST", "/v1/accounts/b@other.example/refresh", Self.serviceAccountKey) == 200)
            #expect(try await status("GET", "/v1/accounts/a@scoped.example/token", Self.serviceAccountKey) == 403)
            #expect(try await status("GET", "/v1/accounts/c@other.example", Self.serviceAccountKey) == 403)
            #expect(try await status("GET", "/v1/accounts/nobody@other.example/token", Self.serviceAccountKey) == 403)
            // Lists are cut down to the key's accounts; the admin sees all three.
            func emails(_ key: String) async throws -> [String] {
                let page = try await daemon.api("GET", "/v1/accounts", key: key)
                return ((page.json["accounts"] as? [[String: Any]]) ?? []).compactMap { $0["email"] as? String }.sorted()
            }
            #expect(try await emails(Self.domainKey) == ["a@scoped.example"])
            #expect(try await emails(Self.serviceAccountKey) == ["b@other.example"])
            #expect(try await emails(TestDaemon.apiKey).count == 3)
            let refused = try await daemon.api("GET", "/v1/accounts/a@scoped.example/token", key: Self.serviceAccountKey)
            #expect(refused.errorMessage?.contains("limited to service accounts \(second)") == true)
            #expect(refused.json["permission"] as? String == "tokens:read")
        }
    }

    @Test("a read writes one audit line, a change one before and one after, 0600, in order, without a secret; GET /v1/audit pages them")
    func auditLines() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let keysFile = try folder.write("keys.json", Self.keysJSON(serviceAccount: "ser_none"))
        let auditPath = folder.url.appendingPathComponent("audit.log").path
        try await TestDaemon.run(configure: { configuration in
            configuration.internalListener.apiKeys = APIKeyStore(apiKeys: [], file: keysFile)
            configuration.audit.path = auditPath
        }) { daemon in
            try daemon.application.apiKeys.reload()
            let linkPath = try await daemon.connectLinkPath()
            let serviceAccount = try await daemon.connectServiceAccount()
            try await daemon.requestAndSettle(["alice@scoped.example", "bob@scoped.example"])
            let token = try await daemon.api("GET", "/v1/accounts/alice@scoped.example/token", key: Self.domainKey)
            let refreshed = try await daemon.api("POST", "/v1/accounts/alice@scoped.example/refresh", key: Self.domainKey)
            let serviceToken = try await daemon.api("GET", "/v1/service-accounts/\(serviceAccount)/token")
            #expect(try await daemon.api("GET", "/v1/events", key: Self.metricsKey).status == 403)
            #expect(try await daemon.api("DELETE", "/v1/accounts/bob@scoped.example", key: Self.domainKey).status == 403)
            #expect(try await daemon.api("DELETE", "/v1/accounts/bob@scoped.example").status == 200)
            #expect(try await daemon.api("DELETE", "/v1/service-accounts/\(serviceAccount)").status == 200)

            let text = try String(contentsOfFile: auditPath, encoding: .utf8)
            let lines = text.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(lines.allSatisfy { $0 != nil })
            let entries = lines.compactMap { $0 }
            #expect(entries.map { $0["id"] as? Int ?? 0 } == Array(1...entries.count))
            func find(_ action: String, _ target: String?) -> [String: Any]? {
                entries.first { $0["action"] as? String == action && $0["target"] as? String == target }
            }
            func outcomes(_ action: String, _ target: String?) -> [String] {
                entries.filter { $0["action"] as? String == action && $0["target"] as? String == target }.compactMap { $0["outcome"] as? String }
            }
            // A change: its request before it is acted on (no status yet), its outcome after, one request id.
            #expect(outcomes("connect_link.create", nil) == ["started", "ok", "started", "ok"])
            // An account request: one line per account, each started then ok.
            for email in ["alice@scoped.example", "bob@scoped.example"] {
                #expect(outcomes("account.request", email) == ["started", "ok"], "\(email)")
            }
            let requests = entries.filter { $0["action"] as? String == "account.request" }
            #expect(Set(requests.compactMap { $0["request_id"] as? String }).count == 1)
            #expect(requests.allSatisfy { $0["key"] as? String == "#1" })
            #expect(requests.first?["status"] == nil && requests.last?["status"] as? Int == 202)
            // A read: one line, after.
            #expect(outcomes("account.token.read", "alice@scoped.example") == ["ok"])
            let read = try #require(find("account.token.read", "alice@scoped.example"))
            #expect(read["key"] as? String == "crm" && read["outcome"] as? String == "ok" && read["status"] as? Int == 200)
            #expect(read["client"] as? String == "127.0.0.1")
            #expect((read["request_id"] as? String)?.isEmpty == false)
            #expect((read["time"] as? String)?.hasSuffix("Z") == true)
            #expect(outcomes("account.refresh", "alice@scoped.example") == ["ok"])
            #expect(find("account.refresh", "alice@scoped.example")?["key"] as? String == "crm")
            #expect(outcomes("service_account.token.read", serviceAccount) == ["ok"])
            let forbidden = try #require(find("GET /v1/events", nil))
            #expect(forbidden["outcome"] as? String == "forbidden" && forbidden["permission"] as? String == "events:read")
            #expect(forbidden["key"] as? String == "prometheus" && forbidden["status"] as? Int == 403)
            let revokes = entries.filter { $0["action"] as? String == "account.revoke" }
            // Refused on the head, before the router matched: the target is still named, and
            // nothing was started.
            #expect(revokes.map { $0["outcome"] as? String } == ["forbidden", "started", "ok"])
            #expect(revokes.map { $0["target"] as? String } == Array(repeating: "bob@scoped.example", count: 3))
            #expect(revokes.first?["key"] as? String == "crm" && revokes.first?["permission"] as? String == "accounts:revoke")
            #expect(Set(revokes.dropFirst().compactMap { $0["request_id"] as? String }).count == 1)
            #expect(outcomes("service_account.revoke", serviceAccount) == ["started", "ok"])

            // Never a token, a key, a code or a link's capability.
            var secrets = [TestDaemon.apiKey, Self.domainKey, Self.metricsKey, daemon.simulator.configuration.clientSecret,
                           String(linkPath.split(separator: "/").last ?? "")]
            for response in [token, refreshed, serviceToken] {
                secrets.append(try #require(response.json["access_token"] as? String))
            }
            // Every access and refresh token and code Cronofy issued, the service account's too.
            let issued = daemon.simulator.control.issued()
            #expect(!issued.codes.isEmpty && !issued.refreshTokens.isEmpty)
            secrets += issued.all
            for secret in secrets { #expect(!text.contains(secret), "a secret is in the audit log") }

            var info = stat()
            #expect(stat(auditPath, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)

            // Paged through the API, admin only.
            let page = try await daemon.api("GET", "/v1/audit?after=0&limit=2")
            #expect(page.status == 200)
            #expect((page.json["entries"] as? [[String: Any]])?.map { $0["id"] as? Int } == [1, 2])
            #expect(page.json["next_after"] as? Int == 2)
            let rest = try await daemon.api("GET", "/v1/audit?after=2&limit=1000")
            #expect((rest.json["entries"] as? [[String: Any]])?.first?["id"] as? Int == 3)
            #expect(try await daemon.api("GET", "/v1/audit", key: Self.domainKey).status == 403)
            #expect(try await daemon.api("GET", "/v1/audit?after=-1").status == 422)
            let beyond = try await daemon.api("GET", "/v1/audit?after=9223372036854775807")
            #expect(beyond.status == 200 && (beyond.json["entries"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("GET /v1/audit: a bad after or limit is a 422 naming it and saying what is expected")
    func pagingInput() async throws {
        try await TestDaemon.run { daemon in
            _ = try await daemon.connectLinkPath()
            let afterMessage = "expected an audit line id: an integer from 0 to 9223372036854775807"
            let limitMessage = "expected an integer from 1 to 1000"
            let cases: [(query: String, field: String, message: String)] = [
                ("after=-1", "after", afterMessage), ("after=abc", "after", afterMessage), ("after=1.5", "after", afterMessage),
                ("after=9223372036854775808", "after", afterMessage), ("after=1&after=2", "after", "given more than once"),
                ("limit=0", "limit", limitMessage), ("limit=-5", "limit", limitMessage), ("limit=1001", "limit", limitMessage),
                ("limit=99999999999999999999", "limit", limitMessage), ("limit=ten", "limit", limitMessage),
                ("offset=3", "offset", "unknown query parameter; expected one of: after, limit"),
            ]
            for (query, field, message) in cases {
                let response = try await daemon.api("GET", "/v1/audit?\(query)")
                #expect(response.status == 422 && response.errorCode == "invalid_field", "\(query): \(response.status) \(response.text)")
                #expect(response.json["field"] as? String == field, "\(query)")
                #expect(response.errorMessage == message, "\(query): \(response.errorMessage ?? "-")")
            }
            // The edges are fine: an empty value is the default, 1000 the largest page, Int64.max the last id.
            for query in ["after=&limit=", "limit=1000", "after=9223372036854775807&limit=1", "after=0&limit=1"] {
                let response = try await daemon.api("GET", "/v1/audit?\(query)")
                #expect(response.status == 200, "\(query): \(response.status) \(response.text)")
            }
        }
    }

    /// Points the audit log's descriptor at /dev/full (every write fails with ENOSPC, as on a
    /// full disk), or back at its file.
    static func redirect(_ audit: AuditLog, to path: String) throws {
        let replacement = open(path, O_WRONLY | O_APPEND)
        #expect(replacement >= 0)
        #expect(dup2(replacement, audit.descriptor) >= 0)
        close(replacement)
    }

    @Test("an audit write that fails before a read or a change: 503 audit_unavailable, nothing handed out or done")
    func auditWriteFailure() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()
            try await daemon.requestAndSettle(["carol@example.com", "dave@example.com"])
            let before = try await daemon.api("GET", "/v1/accounts/carol@example.com/token")
            let token = try #require(before.json["access_token"] as? String)
            let audit = try #require(daemon.application.audit)
            let lines = audit.lastID
            let revokeCalls = daemon.simulator.control.calls(.revoke).count
            let authorizations = daemon.simulator.control.calls(.authorizations).count
            try Self.redirect(audit, to: "/dev/full")
            func refused(_ method: String, _ path: String, json: String? = nil) async throws {
                let response = try await daemon.api(method, path, json: json)
                #expect(response.status == 503 && response.errorCode == "audit_unavailable", "\(method) \(path): \(response.status)")
                #expect(response.header("Retry-After") != nil)
                #expect(!response.text.contains(token))
            }
            // Reads: the answer is withheld.
            try await refused("GET", "/v1/accounts/carol@example.com/token")
            try await refused("POST", "/v1/accounts/carol@example.com/refresh")
            // Changes: refused before anything is done.
            try await refused("DELETE", "/v1/accounts/dave@example.com")
            try await refused("POST", "/v1/accounts", json: #"{"email":"erin@example.com"}"#)
            try await refused("POST", "/v1/service-accounts/connect-links", json: "{}")
            #expect(try await daemon.api("GET", "/v1/accounts/dave@example.com").json["status"] as? String == "active")
            #expect(try await daemon.api("GET", "/v1/accounts/erin@example.com").status == 404)
            #expect(daemon.simulator.control.calls(.revoke).count == revokeCalls)
            #expect(daemon.simulator.control.calls(.authorizations).count == authorizations)
            // Calls that are not audited go on; no line was written.
            #expect(try await daemon.api("GET", "/v1/accounts/carol@example.com").status == 200)
            #expect(audit.lastID == lines)
        }
    }

    @Test("an audit write that fails after a change was made: the answer stands, the request line is on record")
    func auditWriteFailureAfterTheChange() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()
            try await daemon.requestAndSettle(["carol@example.com"])
            let audit = try #require(daemon.application.audit)
            // Cronofy answers the revocation two seconds late: the disk fills up meanwhile, after
            // the request line was written and before the outcome is.
            daemon.simulator.control.fail(.revoke, with: .slow(.seconds(2)))
            async let revoking = daemon.api("DELETE", "/v1/accounts/carol@example.com")
            let started = await eventually(timeout: .seconds(10)) {
                let text = (try? String(contentsOfFile: audit.path, encoding: .utf8)) ?? ""
                return text.contains(#""action":"account.revoke","target":"carol@example.com","outcome":"started""#)
            }
            #expect(started)
            try Self.redirect(audit, to: "/dev/full")
            let revoked = try await revoking
            #expect(revoked.status == 200, "\(revoked.text)")
            #expect(revoked.json["status"] as? String == "revoked")
            let text = try String(contentsOfFile: audit.path, encoding: .utf8)
            #expect(!text.contains(#""action":"account.revoke","target":"carol@example.com","outcome":"ok""#))
            #expect(!(await daemon.logs.waitFor { $0.message.contains("after the change was made") }).isEmpty)
            // The disk has room again: lines go on, numbered after the last one.
            try Self.redirect(audit, to: audit.path)
            #expect(try await daemon.api("GET", "/v1/accounts/carol@example.com/token").status == 409)
            let page = try await daemon.api("GET", "/v1/audit?after=0&limit=1000")
            let ids = ((page.json["entries"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? Int }
            #expect(ids == Array(1...ids.count))
        }
    }
}
