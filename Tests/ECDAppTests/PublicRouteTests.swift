import ECDSimulator
import Foundation
import Testing
@testable import ECDApp

/// api-contract.md §3 over real sockets: the public listener with a simulator behind it.
@Suite struct PublicRouteTests {
    @Test func healthz() async throws {
        try await TestDaemon.run { daemon in
            let response = try await daemon.publicRequest("GET", "/healthz")
            #expect(response.status == 200)
            #expect(response.json["status"] as? String == "ok")
        }
    }

    @Test func connectLinkRedirectsWithABoundStateCookie() async throws {
        try await TestDaemon.run { daemon in
            let (authorize, cookie, response) = try await daemon.openLink(try await daemon.connectLinkPath())
            #expect(authorize.path == "/enterprise_connect/oauth/authorize")
            #expect(authorize.port == daemon.simulator.baseURL.port)
            let query = Dictionary(uniqueKeysWithValues: (URLComponents(url: authorize, resolvingAgainstBaseURL: false)?.queryItems ?? [])
                .map { ($0.name, $0.value ?? "") })
            #expect(query["response_type"] == "code")
            #expect(query["client_id"] == "sim_client_id")
            #expect(query["redirect_uri"] == "http://127.0.0.1:\(daemon.publicPort)/oauth/callback")
            #expect(query["scope"]?.contains("service_account/accounts/manage") == true)
            #expect(query["delegated_scope"]?.isEmpty == false)
            #expect((query["state"]?.count ?? 0) >= 20)

            let setCookie = try #require(response.header("Set-Cookie"))
            let attributes = setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            #expect(cookie.hasPrefix("ecd_connect_state="))
            #expect(attributes.contains("httponly"))
            #expect(attributes.contains("samesite=lax"))
            #expect(attributes.contains("path=/oauth/callback"))
            #expect(attributes.contains { $0.hasPrefix("max-age=") && Int($0.dropFirst(8)).map { $0 > 0 } == true })
            #expect(!attributes.contains("secure"))   // base_url is plain http here
            #expect(response.header("Cache-Control") == "no-store")
        }
    }

    /// Slack, Teams and Outlook Safe Links fetch a link before the admin clicks it: any number of
    /// GETs and HEADs leave it usable; only the landing page's POST spends it.
    @Test func linkPreviewsDoNotSpendTheLink() async throws {
        try await TestDaemon.run { daemon in
            let path = try await daemon.connectLinkPath(body: #"{"label":"Acme <Corp>"}"#)
            for method in ["GET", "HEAD", "GET", "HEAD", "GET"] {
                let preview = try await daemon.publicRequest(method, path)
                #expect(preview.status == 200, "\(method) \(preview.status)")
                #expect(preview.header("Set-Cookie") == nil)
                #expect(preview.header("Cache-Control") == "no-store")
                let policy = preview.header("Content-Security-Policy") ?? ""
                #expect(policy.contains("default-src 'none'"))
                #expect(policy.contains("form-action 'self' http://127.0.0.1:\(daemon.simulator.baseURL.port!)"))
            }
            let page = try await daemon.publicRequest("GET", path)
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(page.text.contains(#"<meta name="robots" content="noindex">"#))
            #expect(page.text.contains(#"<form method="post" action="\#(path)"><button type="submit">Continue to Cronofy</button></form>"#))
            #expect(page.text.contains("sim_client_id"))   // the application, by client id when unnamed
            #expect(page.text.contains("Acme &lt;Corp&gt;"))

            let (authorize, cookie, response) = try await daemon.openLink(path)
            #expect(response.status == 303)
            #expect(authorize.path == "/enterprise_connect/oauth/authorize")
            #expect(cookie.hasPrefix("ecd_connect_state="))
            let callback = try await daemon.approve(authorize)
            let landed = try await daemon.publicRequest("GET", callback, headers: [("Cookie", cookie)])
            #expect(landed.status == 200)
            #expect(landed.text.contains("Service account connected"))

            // Spent: a look now says so, and a second POST cannot start another sign-in.
            #expect(try await daemon.publicRequest("GET", path).status == 410)
            let again = try await daemon.publicRequest("POST", path)
            #expect(again.status == 410)
            #expect(again.header("Set-Cookie") == nil)
        }
    }

    @Test func stateCookieIsSecureWhenBaseURLIsHTTPS() async throws {
        try await TestDaemon.run(baseURLScheme: "https") { daemon in
            let (_, _, response) = try await daemon.openLink(try await daemon.connectLinkPath())
            let attributes = (response.header("Set-Cookie") ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            #expect(attributes.contains("secure"))
        }
    }

    @Test func unknownUsedOrExpiredLinksAreGone() async throws {
        try await TestDaemon.run { daemon in
            let unknown = try await daemon.publicRequest("GET", "/connect/no-such-link")
            #expect(unknown.status == 410)
            #expect(unknown.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(unknown.text.contains("<!DOCTYPE html>"))

            let path = try await daemon.connectLinkPath()
            _ = try await daemon.openLink(path)
            let again = try await daemon.publicRequest("POST", path)
            #expect(again.status == 410)
            #expect(again.header("Set-Cookie") == nil)
        }
    }

    @Test func callbackConnectsTheServiceAccountAndShowsIt() async throws {
        try await TestDaemon.run { daemon in
            // Values that would break the page if they were not escaped.
            daemon.simulator.control.setNextServiceAccount(
                ServiceAccountIdentity(email: "admin+<b>@example.com", domain: "example.com", provider: "google"))
            let (authorize, cookie, _) = try await daemon.openLink(try await daemon.connectLinkPath())
            let callback = try await daemon.approve(authorize)
            let landed = try await daemon.publicRequest("GET", callback, headers: [("Cookie", cookie)])
            #expect(landed.status == 200)
            #expect(landed.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(landed.text.contains("Service account connected"))
            #expect(landed.text.contains("example.com"))
            #expect(landed.text.contains("google"))
            #expect(landed.text.contains("admin+&lt;b&gt;@example.com"))
            #expect(!landed.text.contains("<b>"))
            // The state cookie is dropped.
            #expect(landed.headers("Set-Cookie").contains { $0.contains("Max-Age=0") })

            // The same callback again (a replayed state): refused.
            let replay = try await daemon.publicRequest("GET", callback, headers: [("Cookie", cookie)])
            #expect(replay.status == 400)
            #expect(replay.header("Content-Type")?.hasPrefix("text/html") == true)

            let list = try await daemon.api("GET", "/v1/service-accounts")
            let accounts = try #require(list.json["service_accounts"] as? [[String: Any]])
            #expect(accounts.count == 1)
            #expect(accounts.first?["status"] as? String == "active")
        }
    }

    @Test func callbackWithoutOrWithAnotherBrowsersCookieIsRefused() async throws {
        try await TestDaemon.run { daemon in
            let (authorize, _, _) = try await daemon.openLink(try await daemon.connectLinkPath())
            let callback = try await daemon.approve(authorize)
            let noCookie = try await daemon.publicRequest("GET", callback)
            #expect(noCookie.status == 400)
            let otherCookie = try await daemon.publicRequest("GET", callback, headers: [("Cookie", "ecd_connect_state=someone-else")])
            #expect(otherCookie.status == 400)
            #expect(otherCookie.text.contains("Connection failed"))
            let list = try await daemon.api("GET", "/v1/service-accounts")
            #expect((list.json["service_accounts"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func deniedAtCronofyShowsWhatHappenedAndRecordsTheFailure() async throws {
        try await TestDaemon.run { daemon in
            let (authorize, cookie, _) = try await daemon.openLink(try await daemon.connectLinkPath())
            let state = URLComponents(url: authorize, resolvingAgainstBaseURL: false)?.queryItems?.first { $0.name == "state" }?.value ?? ""
            let denied = try await daemon.publicRequest("GET", "/oauth/callback?error=access_denied&state=\(state)",
                                                        headers: [("Cookie", cookie)])
            #expect(denied.status == 400)
            #expect(denied.text.contains("access_denied") || denied.text.lowercased().contains("denied"))
            let events = try await daemon.api("GET", "/v1/events")
            let types = (events.json["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            #expect(types.contains("service_account.connect_failed"))
            #expect(!types.contains("service_account.connected"))
        }
    }

    @Test func delegatedCallbacksAreCheckedAndIdempotent() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()
            // Hold the simulator's callback so the test can send forged ones first.
            daemon.simulator.control.dropCallbacks(email: "carol@example.com")
            let requested = try await daemon.api("POST", "/v1/accounts", json: #"{"email":"carol@example.com"}"#)
            #expect(requested.status == 202)
            let held = await daemon.simulator.control.waitForCallbacks(count: 1, timeout: .seconds(5))
            let genuine = try #require(held.first)
            let path = try #require(URL(string: genuine.callbackURL)?.path)
            #expect(path.hasPrefix("/callbacks/delegated/"))

            let unknown = try await daemon.publicRequest("POST", "/callbacks/delegated/no-such-request",
                                                         headers: [("Content-Type", "application/json")], body: Array(genuine.body.utf8))
            #expect(unknown.status == 404)
            let malformed = try await daemon.publicRequest("POST", path, headers: [("Content-Type", "application/json")], body: Array("{not json".utf8))
            #expect(malformed.status == 400)
            let wrongState = try await daemon.publicRequest(
                "POST", path, headers: [("Content-Type", "application/json")],
                body: Array(#"{"authorization":{"code":"forged-code","state":"wrong-state"}}"#.utf8))
            #expect(wrongState.status == 400)
            let badSignature = try await daemon.publicRequest(
                "POST", path, headers: [("Content-Type", "application/json"), ("Cronofy-HMAC-SHA256", "bm90LXRoZS1yaWdodC1tYWM=")],
                body: Array(genuine.body.utf8))
            #expect(badSignature.status == 401)
            // Still pending: nothing forged changed anything.
            #expect(try await daemon.api("GET", "/v1/accounts/carol@example.com").json["status"] as? String == "pending")

            for _ in 0..<2 {
                let accepted = try await daemon.publicRequest("POST", path, headers: [("Content-Type", "application/json")],
                                                              body: Array(genuine.body.utf8))
                #expect(accepted.status == 200)
                #expect(accepted.json["status"] as? String == "accepted")
            }
            #expect(try await daemon.settle(["carol@example.com"])["carol@example.com"] == "active")
        }
    }

    @Test func internalRoutesAreNotFoundHere() async throws {
        try await TestDaemon.run { daemon in
            for (method, path) in [("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/v1/accounts"), ("POST", "/v1/accounts"),
                                   ("GET", "/v1/service-accounts"), ("GET", "/v1/events"), ("GET", "/nothing")] {
                let response = try await daemon.publicRequest(method, path, headers: [("Authorization", "Bearer \(TestDaemon.apiKey)")],
                                                              body: method == "POST" ? Array("{}".utf8) : nil)
                #expect(response.status == 404, "\(method) \(path)")
                #expect(response.header("Content-Type")?.hasPrefix("text/html") == true)
            }
        }
    }

    @Test func accessLogNamesTheRouteAndTheForwardedClientOnlyFromTrustedProxies() async throws {
        try await TestDaemon.run { daemon in
            _ = try await daemon.publicRequest("GET", "/connect/secret-link-token", headers: [("X-Forwarded-For", "203.0.113.9")])
            let line = try #require(await daemon.logs.waitFor { $0.metadata["route"] == "/connect/{link}" }.last)
            #expect(line.metadata["client"] == "203.0.113.9")
            #expect(line.metadata["status"] == "410")
            #expect(line.metadata["listener"] == "public")
            #expect(line.metadata["method"] == "GET")
            #expect(line.metadata["request_id"]?.isEmpty == false)
            #expect(!daemon.logs.entries.contains { $0.flattened.contains("secret-link-token") })

            try await TestDaemon.run(configure: { $0.publicListener.trustedProxies = TrustedProxies(networks: []) }) { untrusting in
                _ = try await untrusting.publicRequest("GET", "/healthz", headers: [("X-Forwarded-For", "203.0.113.9")])
                let plain = try #require(await untrusting.logs.waitFor { $0.metadata["route"] == "/healthz" }.last)
                #expect(plain.metadata["client"] == "127.0.0.1")
            }
        }
    }
}
