import ECDCore
import Foundation
import ECDHTTP
import ECDTestSupport
import Testing
@testable import ECDApp

/// The pieces of the routes that need no daemon: body reading, validation, escaping, cookies,
/// client addresses, route patterns.
@Suite struct RoutesUnitTests {
    @Test func htmlEscapingCoversEveryMetacharacter() {
        #expect(HTMLEscaping.escape(#"<a href="x">Tom & 'Jerry'</a>"#)
                == "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;")
        let page = HTMLPage(title: "<t>", tone: .failure, paragraphs: ["<script>alert(1)</script>"],
                            facts: [("Domain", "a<b>.com")]).rendered
        #expect(!page.contains("<script>alert"))
        #expect(!page.contains("<t>"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(page.contains("a&lt;b&gt;.com"))
        #expect(!page.lowercased().contains("<script"))   // no JavaScript at all
        #expect(page.contains("<style>"))                  // self-contained styling
    }

    /// The one mapping of core failures to statuses and `error.code`s (the core names no status).
    @Test func coreErrorsMapToStatusesAndCodes() {
        let cases: [(CoreError, Int, String)] = [
            (.notFound("x"), 404, "not_found"),
            (.invalid(field: "accounts[3].email", message: "x"), 422, "invalid_field"),
            (.invalidEntries([EntryProblem(index: 0, field: "accounts[0].email", message: "x")]), 422, "invalid_field"),
            (.accountNotActive(status: .pending), 409, "account_not_active"),
            (.accountNotActive(status: .reauthorizing), 409, "account_reauthorizing"),
            (.cronofyUnavailable("x"), 503, "cronofy_unavailable"),
            (.linkUnusable, 410, "link_unusable"),
            (.badState("x"), 400, "bad_state"),
            (.connectFailed("x"), 400, "connect_failed"),
            (.callbackRejected(.invalidSignature), 401, "invalid_signature"),
            (.callbackRejected(.malformed("x")), 400, "malformed_callback"),
            (.callbackRejected(.stateMismatch), 400, "state_mismatch"),
            (.callbackRejected(.stateRequired), 400, "state_required"),
            (.callbackRejected(.unknownRequest("x")), 404, "unknown_request"),
            (.cronofyRevokeFailed("x"), 502, "cronofy_revoke_failed"),
            (.cronofyPlanRequired, 402, "cronofy_plan_required"),
        ]
        for (error, status, code) in cases {
            let mapped = CoreErrorMapping.apiError(for: error)
            #expect(mapped.status.code == status && mapped.code == code, "\(error)")
        }
    }

    /// A database that is away is 503 with Retry-After (try again); a storage failure that trying
    /// again cannot cure (a misused driver, a damaged file) is 500, without the driver's message.
    @Test(arguments: [
        (StorageError.unavailable("database is locked"), 503, "storage_unavailable"),
        (StorageError.failed("SQLite error 21 (bad parameter or other API misuse)"), 500, "internal_error"),
        (StorageError.corrupt("database disk image is malformed"), 500, "internal_error"),
        (StorageError.conflict("UNIQUE constraint failed"), 500, "internal_error"),
    ] as [(StorageError, Int, String)])
    func storageErrorsMapToRetryOnlyWhenRetryCanHelp(error: StorageError, status: Int, code: String) throws {
        let logs = CapturedLogs()
        let render = CoreErrorMapping.renderer(logger: logs.logger())
        let response = render(error, HTTPRequest.make(.post, "/v1/accounts"), RequestContext(requestID: "req-1"))
        #expect(response.status.code == status, "\(error)")
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(body.contains("\"\(code)\""), "\(body)")
        #expect((response.headers["Retry-After"] != nil) == (status == 503), "\(error)")
        #expect(!body.contains("SQLite") && !body.contains("constraint") && !body.contains("malformed"), "\(body)")
    }

    @Test func accountRequestBodies() throws {
        let single = try AccountRoutes.accountRequests(Array(#"{"email":"a@b.com","scope":"read_account"}"#.utf8))
        #expect(single.isSingle)
        #expect(single.entries.count == 1)
        #expect(single.entries[0].email == "a@b.com")
        #expect(single.entries[0].scope == "read_account")

        let batch = try AccountRoutes.accountRequests(Array(#"{"accounts":[{"email":"a@b.com"},{"email":"c@d.com","service_account_id":"ser_1"}]}"#.utf8))
        #expect(!batch.isSingle)
        #expect(batch.entries.map(\.email) == ["a@b.com", "c@d.com"])
        #expect(batch.entries[1].serviceAccountID == "ser_1")
    }

    @Test(arguments: [
        (#"not json"#, 400, "invalid_json", nil),
        (#""#, 400, "invalid_json", nil),
        (#"[1,2]"#, 422, "invalid_field", "body"),
        (#"{"email":42}"#, 422, "invalid_field", "email"),
        (#"{"email":"nope"}"#, 422, "invalid_field", "email"),
        (#"{}"#, 422, "invalid_field", "email"),
        (#"{"email":"a@b.com","scope":["x"]}"#, 422, "invalid_field", "scope"),
        (#"{"email":"a@b.com","colour":"red"}"#, 422, "invalid_field", "colour"),
        (#"{"accounts":{}}"#, 422, "invalid_field", "accounts"),
        (#"{"accounts":[]}"#, 422, "invalid_field", "accounts"),
        (#"{"accounts":[{"email":"a@b.com"},{"email":"c@d.com"},{"email":"bad"}]}"#, 422, "invalid_field", "accounts[2].email"),
        (#"{"accounts":[{"email":"a@b.com"},"x"]}"#, 422, "invalid_field", "accounts[1]"),
        (#"{"accounts":[{"email":"a@b.com"}],"extra":1}"#, 422, "invalid_field", "extra"),
        (#"{"accounts":[{"email":"a@b.com","service_account_id":""}]}"#, 422, "invalid_field", "accounts[0].service_account_id"),
    ] as [(String, Int, String, String?)])
    func badAccountRequestBodies(body: String, status: Int, code: String, field: String?) {
        do {
            // A malformed entry is not thrown: it is kept for the one 422 that lists every entry.
            let parsed = try AccountRoutes.accountRequests(Array(body.utf8))
            let error = AccountRoutes.invalidEntries(parsed.rejected, single: parsed.isSingle)
            #expect(!parsed.rejected.isEmpty, "accepted \(body)")
            #expect(error.status.code == status)
            #expect(error.code == code)
            #expect(error.field == field)
        } catch {
            #expect(error.status.code == status)
            #expect(error.code == code)
            #expect(error.field == field)
        }
    }

    @Test func tooManyAccountsInOneRequest() {
        let entries = (0...AccountRoutes.maxAccountsPerRequest).map { #"{"email":"u\#($0)@example.com"}"# }
        let body = #"{"accounts":["# + entries.joined(separator: ",") + "]}"
        #expect(throws: APIError.self) { try AccountRoutes.accountRequests(Array(body.utf8)) }
        let ok = #"{"accounts":["# + entries.dropLast().joined(separator: ",") + "]}"
        #expect((try? AccountRoutes.accountRequests(Array(ok.utf8)))?.entries.count == AccountRoutes.maxAccountsPerRequest)
    }

    @Test func singleFormFieldNames() {
        #expect(AccountRoutes.singleFormField("accounts[0].scope") == "scope")
        #expect(AccountRoutes.singleFormField("accounts[0]") == "body")
        #expect(AccountRoutes.singleFormField("email") == "email")
    }

    @Test func connectLinkBodies() throws {
        #expect(try ServiceAccountRoutes.connectLinkOptions([]) == .init())
        #expect(try ServiceAccountRoutes.connectLinkOptions(Array(" \n".utf8)) == .init())
        #expect(try ServiceAccountRoutes.connectLinkOptions(Array(#"{"label":"Acme","delegated_scope":"read_account"}"#.utf8))
                == .init(label: "Acme", scope: nil, delegatedScope: "read_account"))
        #expect(throws: APIError.self) { try ServiceAccountRoutes.connectLinkOptions(Array(#"{"label":7}"#.utf8)) }
        #expect(throws: APIError.self) { try ServiceAccountRoutes.connectLinkOptions(Array("{".utf8)) }
    }

    @Test func entryErrorsBodyShape() throws {
        let problems = [EntryProblem(index: 1, field: "accounts[1].email", message: "not a valid email address"),
                        EntryProblem(index: 4, field: "accounts[4].scope", message: "bad \"scope\"")]
        let text = String(decoding: AccountRoutes.invalidEntries(problems, single: false).response.body, as: UTF8.self)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["field"] as? String == "accounts[1].email")
        let errors = try #require(object["errors"] as? [[String: Any]])
        #expect(errors.map { $0["index"] as? Int } == [1, 4])
        #expect(errors.map { $0["field"] as? String } == ["accounts[1].email", "accounts[4].scope"])
        #expect(errors[1]["message"] as? String == "bad \"scope\"")
        #expect(((object["error"] as? [String: Any])?["message"] as? String)?.hasPrefix("2 entries are invalid") == true)
        // The single-object form names fields without the list.
        let single = AccountRoutes.invalidEntries([EntryProblem(index: 0, field: "accounts[0].email", message: "m")], single: true)
        #expect(single.field == "email")
        #expect(single.message == "m")
    }

    @Test func errorBodyShape() throws {
        let response = APIError.invalidField("accounts[2].email", "not a valid email address").response
        #expect(response.status.code == 422)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(text == #"{"error":{"code":"invalid_field","message":"not a valid email address","field":"accounts[2].email"},"field":"accounts[2].email"}"#)
    }

    @Test func bearerTokens() {
        #expect(APIKeyAuthentication.bearerToken("Bearer abc") == "abc")
        #expect(APIKeyAuthentication.bearerToken("bearer  abc ") == "abc")
        #expect(APIKeyAuthentication.bearerToken("Basic abc") == nil)
        #expect(APIKeyAuthentication.bearerToken("Bearer ") == nil)
        #expect(APIKeyAuthentication.bearerToken(nil) == nil)
    }

    @Test func cookies() {
        var headers = HTTPHeaders()
        headers.add(name: "Cookie", value: "a=1; ecd_connect_state=xyz; b=2")
        #expect(PublicRoutes.cookie(named: "ecd_connect_state", in: headers) == "xyz")
        #expect(PublicRoutes.cookie(named: "ecd", in: headers) == nil)
        #expect(PublicRoutes.cookie(named: "a", in: HTTPHeaders()) == nil)
    }

    @Test func forwardedClientIsBelievedOnlyFromTrustedProxies() {
        let resolver = ClientAddressResolver(trustedProxies: .loopback)
        var headers = HTTPHeaders()
        headers.add(name: "X-Forwarded-For", value: "198.51.100.7, 203.0.113.9")
        headers.add(name: "X-Forwarded-Proto", value: "https")
        #expect(resolver.resolve(peer: "127.0.0.1", headers: headers) == .init(address: "203.0.113.9", forwardedProto: "https"))
        #expect(resolver.resolve(peer: "::ffff:127.0.0.1", headers: headers).address == "203.0.113.9")
        #expect(resolver.resolve(peer: "192.0.2.1", headers: headers) == .init(address: "192.0.2.1", forwardedProto: nil))
        // A chain that passes through several of our proxies: the first untrusted hop is the client.
        var chained = HTTPHeaders()
        chained.add(name: "X-Forwarded-For", value: "203.0.113.9, 127.0.0.1")
        #expect(resolver.resolve(peer: "127.0.0.1", headers: chained).address == "203.0.113.9")
        // Garbage is not believed.
        var garbage = HTTPHeaders()
        garbage.add(name: "X-Forwarded-For", value: "<script>")
        #expect(resolver.resolve(peer: "127.0.0.1", headers: garbage).address == "127.0.0.1")
        #expect(ClientAddressResolver(trustedProxies: TrustedProxies(networks: [])).resolve(peer: "127.0.0.1", headers: headers).address == "127.0.0.1")
    }

    /// Logs and metrics name the router's own match, 405s included (the path's pattern).
    @Test func routePatternsForLogs() {
        var table = RouteTable()
        table.immediate(.get, "/v1/accounts/{email}") { _, _ in HTTPResponse() }
        table.immediate(.delete, "/v1/accounts/{email}") { _, _ in HTTPResponse() }
        table.immediate(.get, "/v1/accounts/{email}/token") { _, _ in HTTPResponse() }
        func pattern(_ method: HTTPMethod, _ rawPath: String) -> String? {
            let request = HTTPRequest(
                method: method, target: rawPath, path: PercentDecoding.decode(rawPath) ?? rawPath, rawPath: rawPath,
                rawQuery: nil, queryItems: [], version: .http1_1, headers: ["Host": "x"], body: [])
            return table.router.route(request)?.pattern
        }
        #expect(pattern(.get, "/v1/accounts/a%40b.com") == "/v1/accounts/{email}")
        #expect(pattern(.get, "/v1/accounts/a@b.com/token") == "/v1/accounts/{email}/token")
        #expect(pattern(.post, "/v1/accounts/a@b.com") == "/v1/accounts/{email}")
        #expect(pattern(.get, "/v1/other") == nil)
    }
}
