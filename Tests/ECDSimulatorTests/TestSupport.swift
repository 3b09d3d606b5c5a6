import ECDHTTP
import ECDTestSupport
import Foundation
import Testing

@testable import ECDSimulator

/// Builds requests, calls the router directly, and drives common flows. The tests in this target
/// use the router (no sockets) except `LiveSimulatorTests`.
struct SimulatorHarness {
    let components: SimulatorComponents
    let transport: RecordingTransport
    var configuration: SimulatorConfiguration

    init(_ configure: (inout SimulatorConfiguration) -> Void = { _ in }) {
        var configuration = SimulatorConfiguration()
        configuration.callbackDelay = .milliseconds(1)
        configuration.callbackRetryBaseDelay = .milliseconds(5)
        configure(&configuration)
        let transport = RecordingTransport()
        self.configuration = configuration
        self.transport = transport
        components = SimulatorComponents(configuration: configuration, transport: transport)
    }

    var control: SimulatorControl { components.control }

    // MARK: Requests

    func send(
        _ method: HTTPMethod, _ target: String, body: String = "", contentType: String? = nil,
        headers: [(String, String)] = []
    ) async -> HTTPResponse {
        var fields = HTTPHeaders()
        if let contentType { fields.add(name: "Content-Type", value: contentType) }
        for (name, value) in headers { fields.add(name: name, value: value) }
        return await components.router.run(HTTPRequest.make(method, target, headers: fields, body: Array(body.utf8)))
    }

    func postJSON(_ target: String, _ json: String, bearer: String? = nil) async -> HTTPResponse {
        await send(.post, target, body: json, contentType: "application/json", headers: bearer.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    func get(_ target: String, bearer: String? = nil) async -> HTTPResponse {
        await send(.get, target, headers: bearer.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    // MARK: Flows

    static let redirectURI = "https://ecd.example.org/oauth/callback"
    static let serviceScope = "service_account/accounts/manage service_account/resources/manage"
    static let delegatedScope = "read_account list_calendars read_events create_event delete_event read_free_busy"

    func authorizeTarget(
        responseType: String = "code", clientID: String? = nil, redirectURI: String = redirectURI,
        scope: String = serviceScope, delegatedScope: String = delegatedScope, state: String? = "st-1",
        autoApprove: Bool = false
    ) -> String {
        var items = [
            ("response_type", responseType), ("client_id", clientID ?? configuration.clientID),
            ("redirect_uri", redirectURI), ("scope", scope), ("delegated_scope", delegatedScope),
        ]
        if let state { items.append(("state", state)) }
        if autoApprove { items.append(("auto_approve", "1")) }
        return "/enterprise_connect/oauth/authorize?" + URLEncoding.query(items)
    }

    /// Auto-approves and returns the code from the redirect.
    func serviceAccountCode(scope: String = serviceScope, delegatedScope: String = delegatedScope) async throws -> String {
        let response = await get(authorizeTarget(scope: scope, delegatedScope: delegatedScope, autoApprove: true))
        #expect(response.status.code == 302)
        let location = try #require(response.headers["Location"])
        return try #require(Self.queryValue("code", in: location))
    }

    func exchange(code: String, redirectURI: String = redirectURI, extra: String = "") async -> HTTPResponse {
        await postJSON("/oauth/token", """
            {"client_id":"\(configuration.clientID)","client_secret":"\(configuration.clientSecret)",\
            "grant_type":"authorization_code","code":"\(code)","redirect_uri":"\(redirectURI)"\(extra)}
            """)
    }

    func refresh(_ refreshToken: String) async -> HTTPResponse {
        await postJSON("/oauth/token", """
            {"client_id":"\(configuration.clientID)","client_secret":"\(configuration.clientSecret)",\
            "grant_type":"refresh_token","refresh_token":"\(refreshToken)"}
            """)
    }

    func revoke(_ field: String, _ value: String) async -> HTTPResponse {
        await postJSON("/oauth/token/revoke", """
            {"client_id":"\(configuration.clientID)","client_secret":"\(configuration.clientSecret)","\(field)":"\(value)"}
            """)
    }

    /// A connected service account's token response.
    func connectServiceAccount(scope: String = serviceScope, delegatedScope: String = delegatedScope) async throws -> [String: Any] {
        let code = try await serviceAccountCode(scope: scope, delegatedScope: delegatedScope)
        let response = await exchange(code: code)
        #expect(response.status.code == 200)
        return try json(response)
    }

    /// Requests delegated access for `email` and waits for its callback.
    func authorizeAccount(
        _ email: String, serviceToken: String, scope: String = "read_events create_event", state: String = "acct-state"
    ) async throws -> SimulatorCallback {
        let callbackURL = "https://ecd.example.org/callbacks/delegated/\(email)"
        let before = control.callbacks().count
        let response = await postJSON("/v1/service_account_authorizations", """
            {"email":"\(email)","callback_url":"\(callbackURL)","scope":"\(scope)","state":"\(state)"}
            """, bearer: serviceToken)
        #expect(response.status.code == 202)
        // Until the callback is finished (delivered or given up); the limit only stops a hang.
        let callbacks = await control.waitForCallbacks(count: before + 1, timeout: .seconds(120))
        return try #require(callbacks.last)
    }

    static func queryValue(_ name: String, in url: String) -> String? {
        guard let query = url.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if kv[0] == name { return PercentDecoding.decode(kv.count > 1 ? kv[1] : "", plusAsSpace: true) }
        }
        return nil
    }
}

func json(_ response: HTTPResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
}

func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

/// A callback transport that records each POST and answers from a script (nil = unreachable),
/// then 200.
final class RecordingTransport: CallbackTransport, Sendable {
    struct Post: Sendable {
        var url: String
        var body: [UInt8]
        var headers: [(String, String)]
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    private let recorder = ScriptedRecorder<Post, Int?>()

    func answer(_ statuses: [Int?]) { recorder.answer(statuses) }

    var posts: [Post] { recorder.all }

    func post(url: String, body: [UInt8], headers: [(String, String)], timeout: Duration) async -> Int? {
        recorder.record(Post(url: url, body: body, headers: headers), otherwise: 200)
    }
}
