import ECDCrypto
import ECDHTTP
import Foundation
import ECDTestSupport
import Testing
@testable import ECDApp

/// Every role against every internal route, over real sockets. The routes come from the
/// daemon's own route table, so a route added without an expectation here (and a rule in
/// `AccessPolicy`) fails this test.
@Suite("Roles × routes")
struct RoleRouteTests {
    static let tokensKey = "tokens-role-key-0123456789abcdef0123456"
    static let metricsKey = "metrics-role-key-0123456789abcdef012345"
    static let digestKey = "digest-metrics-key-0123456789abcdef0123"

    /// Who may call each route. `admin` may call every one; `open` routes need no key at all.
    enum Allowed { case open, probe, tokens, admin }
    static let expected: [String: Allowed] = [
        "GET /healthz": .open,
        "GET /readyz": .probe,
        "GET /metrics": .probe,
        "POST /v1/service-accounts/connect-links": .admin,
        "GET /v1/service-accounts": .admin,
        "GET /v1/service-accounts/{id}": .admin,
        "GET /v1/service-accounts/{id}/token": .admin,
        "GET /v1/service-accounts/{id}/resources": .admin,
        "DELETE /v1/service-accounts/{id}": .admin,
        "POST /v1/accounts": .admin,
        "GET /v1/accounts": .tokens,
        "GET /v1/accounts/{email}": .tokens,
        "GET /v1/accounts/{email}/token": .tokens,
        "POST /v1/accounts/{email}/refresh": .tokens,
        "DELETE /v1/accounts/{email}": .admin,
        "GET /v1/events": .admin,
        "GET /v1/audit": .admin,
        "POST /v1/admin/keys/rewrap": .admin,
    ]

    static func keys(openProbes: Bool = false) -> (inout AppConfiguration) -> Void {
        { configuration in
            configuration.internalListener.apiKeys = APIKeyStore(apiKeys: [
                APIKey(name: "#1", role: .admin, plain: TestDaemon.apiKey),
                APIKey(name: "#2", role: .admin, plain: TestDaemon.secondAPIKey),
                APIKey(name: "billing", role: .tokens, plain: tokensKey, form: .key),
                APIKey(name: "prometheus", role: .metrics, plain: metricsKey, form: .key),
                APIKey(name: "lb", role: .metrics, digest: SHA256Digest.hash(Array(digestKey.utf8)), plain: nil,
                       form: .sha256, serviceAccounts: [], domains: []),
            ])
            configuration.internalListener.openProbes = openProbes
        }
    }

    static func target(_ pattern: String) -> String {
        pattern.replacingOccurrences(of: "{email}", with: "someone@example.com").replacingOccurrences(of: "{id}", with: "ser_unknown")
    }

    @Test("each role gets exactly its routes; a forbidden call is 403 naming the permission")
    func everyRoleAgainstEveryRoute() async throws {
        try await TestDaemon.run(configure: Self.keys()) { daemon in
            let routes = daemon.application.internalRouteList
            #expect(routes.count >= Self.expected.count)
            for (method, pattern) in routes {
                let name = "\(method.rawValue) \(pattern)"
                guard let allowed = Self.expected[name] else {
                    Issue.record("\(name) has no expectation here: add one, and its rule in AccessPolicy.rules")
                    continue
                }
                #expect(AccessPolicy.rule(method, pattern) != nil, "\(name) has no rule in AccessPolicy.rules")
                let body = method == .post ? "{}" : nil
                for (role, key) in [("admin", TestDaemon.apiKey), ("tokens", Self.tokensKey), ("metrics", Self.metricsKey),
                                    ("metrics by digest", Self.digestKey), ("none", "")] {
                    let response = try await daemon.api(method.rawValue, Self.target(pattern), json: body, key: key)
                    let mayCall = switch allowed {
                    case .open: true
                    case .probe: role == "admin" || role.hasPrefix("metrics")
                    case .tokens: role == "admin" || role == "tokens"
                    case .admin: role == "admin"
                    }
                    if mayCall {
                        #expect(response.status != 401 && response.status != 403, "\(role) \(name): \(response.status) \(response.text)")
                    } else if role == "none" {
                        #expect(response.status == 401, "\(role) \(name): \(response.status)")
                    } else {
                        #expect(response.status == 403, "\(role) \(name): \(response.status) \(response.text)")
                        #expect(response.errorCode == "forbidden")
                        let permission = AccessPolicy.rule(method, pattern)?.permission?.rawValue ?? "admin"
                        #expect(response.json["permission"] as? String == permission, "\(role) \(name)")
                        #expect(response.errorMessage?.contains("lacks the permission \(permission)") == true)
                    }
                }
            }
            for name in Self.expected.keys where !routes.contains(where: { "\($0.method.rawValue) \($0.pattern)" == name }) {
                Issue.record("\(name) is expected here but is no route")
            }
        }
    }

    @Test("a route without a rule is admin-only")
    func unlistedRouteIsAdminOnly() {
        #expect(AccessPolicy.rule(.get, "/v1/not-a-route") == nil)
        #expect(AccessPolicy.unlisted.permission == .adminOnly)
        #expect(APIKeyRole.allCases.filter { $0.permissions.contains(.adminOnly) } == [.admin])
    }

    @Test("internal.open_probes serves /readyz and /metrics without a key, and nothing else")
    func openProbes() async throws {
        try await TestDaemon.run(configure: Self.keys(openProbes: true)) { daemon in
            let ready = try await daemon.api("GET", "/readyz", key: "")
            #expect(ready.status == 200)
            #expect(try await daemon.api("GET", "/metrics", key: "").status == 200)
            #expect(try await daemon.api("GET", "/v1/events", key: "").status == 401)
            #expect(try await daemon.api("GET", "/v1/accounts", key: "").status == 401)
        }
        try await TestDaemon.run(configure: Self.keys(openProbes: false)) { daemon in
            let ready = try await daemon.api("GET", "/readyz", key: "")
            #expect(ready.status == 401)
            #expect(try await daemon.api("GET", "/metrics", key: "").status == 401)
        }
    }

    @Test("a forbidden call is refused on its head, before any body is read")
    func forbiddenBeforeTheBody() async throws {
        try await TestDaemon.run(configure: Self.keys()) { daemon in
            let head = "POST /v1/service-accounts/connect-links HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(Self.metricsKey)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
            let response = try await RawHTTP.exchange(daemon.internalEndpoint, Array(head.utf8))
            #expect(response.status == 403)
            #expect(daemon.application.internalServer.bufferedBodyBytes == 0)
        }
    }
}
