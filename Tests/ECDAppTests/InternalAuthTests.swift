import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp

/// The internal listener's gate, its open routes, and its 404s for the public routes.
@Suite struct InternalAuthTests {
    @Test func healthzNeedsNoKeyEverythingElseDoes() async throws {
        try await TestDaemon.run { daemon in
            let health = try await daemon.api("GET", "/healthz", key: "")
            #expect(health.status == 200)
            #expect(health.json["status"] as? String == "ok")

            for (method, path) in [("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/v1/accounts"), ("GET", "/v1/events"),
                                   ("GET", "/v1/service-accounts"), ("POST", "/v1/service-accounts/connect-links"),
                                   ("GET", "/v1/accounts/a@b.com/token"), ("DELETE", "/v1/accounts/a@b.com")] {
                let response = try await daemon.api(method, path, key: "")
                #expect(response.status == 401, "\(method) \(path)")
                #expect(response.errorCode == "unauthorized")
                #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            }
        }
    }

    @Test func wrongKeysAreRefusedAndEveryConfiguredKeyIsAccepted() async throws {
        try await TestDaemon.run { daemon in
            #expect(try await daemon.api("GET", "/v1/events", key: "wrong").status == 401)
            #expect(try await daemon.api("GET", "/v1/events", key: TestDaemon.apiKey + "x").status == 401)
            #expect(try await daemon.api("GET", "/v1/events", key: String(TestDaemon.apiKey.dropLast())).status == 401)
            let basic = try await daemon.api("GET", "/v1/events", key: "", headers: [("Authorization", "Basic \(TestDaemon.apiKey)")])
            #expect(basic.status == 401)
            #expect(try await daemon.api("GET", "/v1/events", key: TestDaemon.apiKey).status == 200)
            #expect(try await daemon.api("GET", "/v1/events", key: TestDaemon.secondAPIKey).status == 200)
            // The key is never logged; which key was used is (by position). The last request's
            // line (key #2) comes last, so once it is there the others are too.
            #expect(!(await daemon.logs.waitFor { $0.metadata["api_key"] == "#2" }).isEmpty)
            #expect(!daemon.logs.entries.contains { $0.flattened.contains(TestDaemon.apiKey) || $0.flattened.contains(TestDaemon.secondAPIKey) })
        }
    }

    @Test func aRequestWithoutAGoodKeyIsRefusedBeforeItsBodyIsRead() async throws {
        try await TestDaemon.run { daemon in
            // A megabyte declared and none of it sent: the 401 must come on the head alone, with
            // nothing set aside for the body.
            for authorization in ["", "Authorization: Bearer wrong-key\(String(repeating: "x", count: 32))\r\n"] {
                let head = "POST /v1/service-accounts/connect-links HTTP/1.1\r\nHost: localhost\r\n\(authorization)"
                    + "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
                let response = try await RawHTTP.exchange(daemon.internalEndpoint, Array(head.utf8))
                #expect(response.status == 401)
                #expect(response.errorCode == "unauthorized")
                #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
                #expect(daemon.application.internalServer.bufferedBodyBytes == 0)
            }
            // The refusal is logged like any other answer, under its route.
            #expect(!(await daemon.logs.waitFor { $0.metadata["status"] == "401" && $0.metadata["route"] == "/v1/service-accounts/connect-links" }).isEmpty)
            // With a key the same route reads its body.
            let created = try await daemon.api("POST", "/v1/service-accounts/connect-links", json: "{}")
            #expect(created.status == 201)
            // Its charge is returned once the answer is out (just after the client may see it).
            let end = ContinuousClock.now + .seconds(5)
            while daemon.application.internalServer.bufferedBodyBytes != 0 && ContinuousClock.now < end {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(daemon.application.internalServer.bufferedBodyBytes == 0)
        }
    }

    @Test func anInternalListenerOtherHostsCanReachIsAnnouncedWithAWarning() async throws {
        try await TestDaemon.run(configure: {
            $0.internalListener.listen = .tcp(host: "0.0.0.0", port: 0)
            $0.internalListener.allowRemote = true
        }) { daemon in
            let warning = await daemon.logs.waitFor { $0.level == .warning && $0.message.contains("other hosts") }
            #expect(warning.first?.message.contains("TLS") == true)
            let events = try await daemon.api("GET", "/v1/events")
            #expect(events.status == 200)
        }
    }

    @Test func publicRoutesAreNotFoundHereWithOrWithoutAKey() async throws {
        try await TestDaemon.run { daemon in
            for key in ["", TestDaemon.apiKey] {
                for (method, path) in [("GET", "/connect/abc"), ("GET", "/oauth/callback?code=x&state=y"),
                                       ("POST", "/callbacks/delegated/abc"), ("GET", "/nothing")] {
                    let response = try await daemon.api(method, path, json: method == "POST" ? "{}" : nil, key: key)
                    #expect(response.status == 404, "\(method) \(path) key: \(!key.isEmpty)")
                    #expect(response.errorCode == "not_found")
                }
            }
        }
    }

    @Test func readinessAndMetrics() async throws {
        try await TestDaemon.run { daemon in
            let ready = try await daemon.api("GET", "/readyz")
            #expect(ready.status == 200)
            #expect(ready.json["status"] as? String == "ready")
            _ = try await daemon.api("GET", "/v1/events")
            let metrics = try await daemon.api("GET", "/metrics")
            #expect(metrics.status == 200)
            // Counted under the route pattern, and the key is not in the metrics either.
            #expect(metrics.text.contains("ecd_http_requests_total"))
            #expect(metrics.text.contains(#"route="/v1/events""#))
            #expect(!metrics.text.contains(TestDaemon.apiKey))
            #expect(metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
        }
    }

    @Test func notReadyIs503WithTheReason() async throws {
        try await TestDaemon.run(configure: { $0.cronofy.clientSecret = "" }) { daemon in
            let response = try await daemon.api("GET", "/readyz")
            #expect(response.status == 503)
            #expect(response.errorCode == "not_ready")
            #expect((response.json["problems"] as? [String])?.contains { $0.contains("client_secret") } == true)
        }
    }

    @Test func methodNotAllowedNamesTheAllowedMethods() async throws {
        try await TestDaemon.run { daemon in
            let response = try await daemon.api("PUT", "/v1/accounts", json: "{}")
            #expect(response.status == 405)
            #expect(response.header("Allow")?.contains("POST") == true)
        }
    }

    @Test func internalListenerOnAUnixSocket() async throws {
        try await TestDaemon.run(unixSocket: true) { daemon in
            #expect(daemon.application.internalAddress.description.hasSuffix("/internal.sock"))
            #expect(daemon.application.internalAddress.description.hasPrefix("unix:"))
            let health = try await daemon.api("GET", "/healthz", key: "")
            let events = try await daemon.api("GET", "/v1/events")
            let unauthorized = try await daemon.api("GET", "/v1/events", key: "")
            #expect(health.status == 200)
            #expect(events.status == 200)
            #expect(unauthorized.status == 401)
        }
    }
}
