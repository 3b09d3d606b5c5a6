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

    @Test("each action writes one audit line, 0600, in order, without a secret; GET /v1/audit pages them")
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
            #expect(entries.filter { $0["action"] as? String == "connect_link.create" }.count == 2)
            #expect(find("account.request", "alice@scoped.example")?["key"] as? String == "#1")
            #expect(find("account.request", "bob@scoped.example") != nil)
            let read = try #require(find("account.token.read", "alice@scoped.example"))
            #expect(read["key"] as? String == "crm" && read["outcome"] as? String == "ok" && read["status"] as? Int == 200)
            #expect(read["client"] as? String == "127.0.0.1")
            #expect((read["request_id"] as? String)?.isEmpty == false)
            #expect((read["time"] as? String)?.hasSuffix("Z") == true)
            #expect(find("account.refresh", "alice@scoped.example")?["key"] as? String == "crm")
            #expect(find("service_account.token.read", serviceAccount)?["outcome"] as? String == "ok")
            let forbidden = try #require(find("GET /v1/events", nil))
            #expect(forbidden["outcome"] as? String == "forbidden" && forbidden["permission"] as? String == "events:read")
            #expect(forbidden["key"] as? String == "prometheus")
            let revokes = entries.filter { $0["action"] as? String == "account.revoke" }
            #expect(revokes.map { $0["outcome"] as? String } == ["forbidden", "ok"])
            // Refused on the head, before the router matched: the target is still named.
            #expect(revokes.map { $0["target"] as? String } == ["bob@scoped.example", "bob@scoped.example"])
            #expect(revokes.first?["key"] as? String == "crm" && revokes.first?["permission"] as? String == "accounts:revoke")
            #expect(find("service_account.revoke", serviceAccount)?["outcome"] as? String == "ok")

            // Never a token, a key, a code or a link's capability.
            var secrets = [TestDaemon.apiKey, Self.domainKey, Self.metricsKey, daemon.simulator.configuration.clientSecret,
                           String(linkPath.split(separator: "/").last ?? "")]
            for response in [token, refreshed, serviceToken] {
                secrets.append(try #require(response.json["access_token"] as? String))
            }
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

    @Test("a request whose audit line cannot be written fails with 503 and hands out nothing")
    func auditWriteFailure() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()
            try await daemon.requestAndSettle(["carol@example.com"])
            let before = try await daemon.api("GET", "/v1/accounts/carol@example.com/token")
            let token = try #require(before.json["access_token"] as? String)
            // The disk fills up: the audit log's descriptor now writes to /dev/full (ENOSPC).
            let audit = try #require(daemon.application.audit)
            let full = open("/dev/full", O_WRONLY)
            #expect(full >= 0)
            #expect(dup2(full, audit.descriptor) >= 0)
            close(full)
            let refused = try await daemon.api("GET", "/v1/accounts/carol@example.com/token")
            #expect(refused.status == 503)
            #expect(refused.errorCode == "audit_unavailable")
            #expect(!refused.text.contains(token))
            #expect(try await daemon.api("POST", "/v1/accounts/carol@example.com/refresh").status == 503)
            // Calls that are not audited go on.
            #expect(try await daemon.api("GET", "/v1/accounts/carol@example.com").status == 200)
        }
    }
}
