import ECDCrypto
import ECDHTTP
import ECDTestSupport
import Foundation
import Testing

@testable import ECDSimulator

@Suite("Simulator over real sockets", .serialized)
struct LiveSimulatorTests {
    static let redirectURI = "http://127.0.0.1:1/oauth/callback"
    static let creds = #""client_id":"sim_client_id","client_secret":"sim_client_secret""#

    func authorizeURL(_ live: LiveSimulator, autoApprove: Bool) -> String {
        live.url("/enterprise_connect/oauth/authorize?" + URLEncoding.query([
            ("response_type", "code"), ("client_id", "sim_client_id"), ("redirect_uri", Self.redirectURI),
            ("scope", "service_account/accounts/manage service_account/resources/manage"),
            ("delegated_scope", "read_account read_events create_event"), ("state", "live-state"),
        ] + (autoApprove ? [("auto_approve", "1")] : [])))
    }

    func connect(_ live: LiveSimulator) async throws -> [String: Any] {
        let redirect = try await live.client.send("GET", authorizeURL(live, autoApprove: true))
        #expect(redirect.status == 302)
        let location = try #require(redirect.header("Location"))
        let code = try #require(SimulatorHarness.queryValue("code", in: location))
        let response = try await live.client.send("POST", live.url("/oauth/token"), body: """
            {\(Self.creds),"grant_type":"authorization_code","code":"\(code)","redirect_uri":"\(Self.redirectURI)"}
            """)
        #expect(response.status == 200)
        #expect(response.header("Cache-Control") == "no-store")
        return try response.json()
    }

    @Test func wholeFlowWithASignedCallbackToARealReceiver() async throws {
        let live = try LiveSimulator { $0.signCallbacks = true }
        let receiver = try RecordingServer(name: "receiver")
        defer { Task { await receiver.stop() } }

        #expect(live.simulator.baseURL.absoluteString == "http://127.0.0.1:\(live.simulator.port)")
        let page = try await live.client.send("GET", authorizeURL(live, autoApprove: false))
        #expect(page.status == 200)
        #expect(page.text.contains("<form method=\"post\""))

        let service = try await connect(live)
        let token = try #require(service["access_token"] as? String)
        let callbackURL = receiver.url("/callbacks/r-1")
        let accepted = try await live.client.send("POST", live.url("/v1/service_account_authorizations"), body: """
            {"email":"jane@example.com","callback_url":"\(callbackURL)","scope":"read_events","state":"s-1"}
            """, bearer: token)
        #expect(accepted.status == 202)
        #expect(accepted.body.isEmpty)

        let received = try #require(await receiver.waitForRequests(1).first)
        #expect(received.path == "/callbacks/r-1")
        #expect(received.headers["Content-Type"] == "application/json")
        let signature = try #require(received.headers["Cronofy-HMAC-SHA256"])
        #expect(ConstantTime.equals(
            Array(signature.utf8),
            Array(Base64.encode(HMACSHA256.mac(key: Array("sim_client_secret".utf8), message: received.body)).utf8)))
        let body = try #require(try JSONSerialization.jsonObject(with: Data(received.body)) as? [String: [String: String]])
        let code = try #require(body["authorization"]?["code"])
        #expect(body["authorization"]?["state"] == "s-1")

        let account = try await live.client.send("POST", live.url("/oauth/token"), body: """
            {\(Self.creds),"grant_type":"authorization_code","code":"\(code)","redirect_uri":"\(callbackURL)","callback_url":"\(callbackURL)"}
            """)
        #expect(account.status == 200)
        let accountJSON = try account.json()
        #expect((accountJSON["account_id"] as? String)?.hasPrefix("acc_") == true)
        let callbacks = await live.simulator.control.waitForCallbacks(count: 1)
        #expect(callbacks.first?.attempts == [.init(status: 200)])

        // The control endpoint over the socket lists what was issued.
        let issued = try await live.client.send("GET", live.url("/_simulator/issued")).json()
        #expect((issued["codes"] as? [String])?.contains(code) == true)
        #expect((issued["access_tokens"] as? [String])?.contains(token) == true)
        await live.simulator.shutdown()
    }

    @Test func callbacksAreRetriedUntilTheReceiverComesUp() async throws {
        // Ten attempts 50 ms apart, doubling: about 25 s in which the receiver may come up.
        let live = try LiveSimulator { $0.callbackMaxAttempts = 10 }
        // Find a free port, then leave it closed for the first attempts.
        let probe = try RecordingServer(name: "receiver")
        let port = probe.port
        await probe.stop()

        let service = try await connect(live)
        let callbackURL = "http://127.0.0.1:\(port)/callbacks/late"
        let accepted = try await live.client.send("POST", live.url("/v1/service_account_authorizations"), body: """
            {"email":"late@example.com","callback_url":"\(callbackURL)","scope":"read_events"}
            """, bearer: service["access_token"] as? String)
        #expect(accepted.status == 202)

        // Wait until at least one attempt failed (the test cannot go on without it), then bring
        // the receiver up, answering 503 once.
        let failedOnce = await eventually(timeout: .seconds(10)) {
            (live.simulator.control.callbacks().first?.attempts.count ?? 0) >= 1
        }
        try #require(failedOnce, "no delivery attempt within 10 s")
        #expect(live.simulator.control.callbacks().first?.delivered == false)
        let receiver = try RecordingServer(name: "receiver", port: port)
        receiver.answer([503])
        let callbacks = await live.simulator.control.waitForCallbacks(count: 1, timeout: .seconds(15))
        let callback = try #require(callbacks.first)
        #expect(callback.delivered)
        #expect(callback.attempts.first?.status == nil)
        #expect(callback.attempts.contains(.init(status: 503)))
        #expect(callback.attempts.last?.status == 200)
        #expect(receiver.requests.count == 2)
        await receiver.stop()
        await live.simulator.shutdown()
    }

    @Test func aBurstOfBatchesIsDeliveredInFull() async throws {
        let live = try LiveSimulator()
        let receiver = try RecordingServer(name: "receiver")
        let service = try await connect(live)
        let token = service["access_token"] as? String
        for batch in 0..<6 {
            let entries = (0..<50).map { n in
                let url = receiver.url("/callbacks/b\(batch)-\(n)")
                return #"{"email":"b\#(batch)-\#(n)@example.com","callback_url":"\#(url)","scope":"read_events","state":"s"}"#
            }
            let response = try await live.client.send("POST", live.url("/v1/service_account_authorizations"),
                body: #"{"service_account_authorizations":[\#(entries.joined(separator: ","))]}"#, bearer: token)
            #expect(response.status == 202)
        }
        let callbacks = await live.simulator.control.waitForCallbacks(count: 300, timeout: .seconds(30))
        #expect(callbacks.count == 300)
        #expect(callbacks.allSatisfy { $0.delivered })
        #expect(Set(receiver.requests.map(\.path)).count == 300)
        await receiver.stop()
        await live.simulator.shutdown()
    }

    @Test func injectedFaultsOverTheWire() async throws {
        let live = try LiveSimulator()
        let service = try await connect(live)
        let token = service["access_token"] as? String
        let inject = try await live.client.send("POST", live.url("/_simulator/faults"), body: #"{"endpoint":"userinfo","fault":"429@3","count":1}"#)
        #expect(inject.status == 200)
        let limited = try await live.client.send("GET", live.url("/v1/userinfo"), bearer: token)
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") == "3")

        live.simulator.control.fail(.resources, with: .serverError)
        #expect(try await live.client.send("GET", live.url("/v1/resources"), bearer: token).status == 500)
        #expect(try await live.client.send("GET", live.url("/v1/resources"), bearer: token).status == 200)

        live.simulator.control.fail(.userinfo, with: .slow(.milliseconds(300)))
        let start = ContinuousClock.now
        #expect(try await live.client.send("GET", live.url("/v1/userinfo"), bearer: token).status == 200)
        #expect(ContinuousClock.now - start >= .milliseconds(300))

        live.simulator.control.expireAccessTokens()
        #expect(try await live.client.send("GET", live.url("/v1/userinfo"), bearer: token).status == 401)
        await live.simulator.shutdown()
    }

    @Test func formBodiesAndUnknownRoutesOverTheWire() async throws {
        let live = try LiveSimulator()
        let service = try await connect(live)
        let form = URLEncoding.query([
            ("client_id", "sim_client_id"), ("client_secret", "sim_client_secret"), ("grant_type", "refresh_token"),
            ("refresh_token", try #require(service["refresh_token"] as? String)),
        ])
        let refreshed = try await live.client.send("POST", live.url("/oauth/token"), body: form, contentType: "application/x-www-form-urlencoded")
        #expect(refreshed.status == 200)
        #expect(try await live.client.send("GET", live.url("/v1/nothing")).status == 404)
        await live.simulator.shutdown()
    }
}
