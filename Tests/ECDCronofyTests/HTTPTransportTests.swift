import ECDHTTPClient
import ECDTestSupport
import Foundation
import Testing
@testable import ECDCronofy

/// `HTTPTransport` over real loopback sockets: what goes out, what comes back, and how
/// timeouts, refused connections, redirects and cookies are handled.
@Suite(.serialized) struct HTTPTransportTests {
    private static func reply(_ status: String, headers: [String] = [], body: String = "") -> String {
        (["HTTP/1.1 \(status)", "Content-Length: \(body.utf8.count)", "Connection: close"] + headers)
            .joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    @Test func sendsRequestAndReadsResponse() async throws {
        let server = try CannedHTTPServer(replies: [Self.reply("200 OK", headers: ["Content-Type: application/json", "X-Thing: 1"],
                                                               body: #"{"ok":true}"#)])
        defer { server.stop() }
        let transport = HTTPTransport()
        let response = try await transport.send(TransportRequest(
            method: "POST", url: server.baseURL.appendingPathComponent("oauth/token"),
            headers: [("Content-Type", "application/json; charset=utf-8"), ("User-Agent", "ecd-test/1"), ("Accept", "application/json")],
            body: Array(#"{"a":"b"}"#.utf8), timeout: .seconds(5)))
        #expect(response.status == 200)
        #expect(response.headers["x-thing"] == "1")
        #expect(response.headers["content-type"] == "application/json")
        #expect(response.body == Array(#"{"ok":true}"#.utf8))
        let raw = try #require(server.requests.first)
        #expect(raw.hasPrefix("POST /oauth/token HTTP/1.1\r\n"))
        #expect(raw.lowercased().contains("user-agent: ecd-test/1\r\n"))
        #expect(raw.lowercased().contains("content-type: application/json; charset=utf-8\r\n"))
        #expect(raw.hasSuffix(#"{"a":"b"}"#))
    }

    @Test func cookiesAreNeitherStoredNorSent() async throws {
        let server = try CannedHTTPServer(replies: [
            Self.reply("200 OK", headers: ["Set-Cookie: session=abc; Path=/"]), Self.reply("200 OK"),
        ])
        defer { server.stop() }
        let transport = HTTPTransport()
        for _ in 0..<2 {
            _ = try await transport.send(TransportRequest(method: "GET", url: server.baseURL.appendingPathComponent("v1/userinfo")))
        }
        #expect(server.requests.count == 2)
        #expect(!server.requests[1].lowercased().contains("cookie:"))
    }

    @Test func redirectsAreNotFollowed() async throws {
        let server = try CannedHTTPServer(replies: [
            Self.reply("302 Found", headers: ["Location: /elsewhere"]), Self.reply("200 OK"),
        ])
        defer { server.stop() }
        let response = try await HTTPTransport().send(
            TransportRequest(method: "POST", url: server.baseURL.appendingPathComponent("oauth/token"), body: [1]))
        #expect(response.status == 302)
        #expect(server.requests.count == 1)
    }

    @Test func silentServerTimesOut() async throws {
        let server = try CannedHTTPServer(replies: [nil])
        defer { server.stop() }
        let client = CronofyClient(configuration: {
            var config = Fixture.configuration(api: server.baseURL.absoluteString)
            config.requestTimeout = .milliseconds(300)
            return config
        }(), transport: HTTPTransport(), budget: RequestBudget(requestsPerMinute: 6000), retryPolicy: RetryPolicy(maxAttempts: 1))
        let start = ContinuousClock.now
        await #expect(throws: CronofyError.timeout) { try await client.userInfo(accessToken: "t") }
        let elapsed = ContinuousClock.now - start
        // Not early, and not at some default idle timeout: the upper bound leaves room for a
        // loaded 2-core machine.
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < .seconds(20))
    }

    @Test func refusedConnectionIsAConnectionFailure() async throws {
        // Bind and close a listener so the port is (almost certainly) free and refuses.
        let server = try CannedHTTPServer(replies: [])
        let url = server.baseURL
        server.stop()
        let client = CronofyClient(configuration: Fixture.configuration(api: url.absoluteString),
                                   transport: HTTPTransport(), budget: RequestBudget(requestsPerMinute: 6000),
                                   retryPolicy: RetryPolicy(maxAttempts: 1))
        do {
            _ = try await client.userInfo(accessToken: "t")
            Issue.record("expected a connection failure")
        } catch {
            guard case .connectionFailed = error else {
                Issue.record("expected connectionFailed, got \(error)")
                return
            }
            #expect(error.isTransient)
        }
    }

    /// A cancelled exchange ends at once with HTTPClientError.cancelled, even while the server is silent.
    @Test func cancellationEndsAnExchangeInFlight() async throws {
        let server = try CannedHTTPServer(replies: [nil])
        defer { server.stop() }
        let transport = HTTPTransport()
        let outcome = Outcome()
        let task = Task {
            do {
                _ = try await transport.send(TransportRequest(method: "GET", url: server.baseURL.appendingPathComponent("v1/userinfo"),
                                                              timeout: .seconds(30)))
                outcome.set("answered")
            } catch {
                outcome.set((error as? HTTPClientError) == .cancelled ? "cancelled" : "\(error)")
            }
        }
        try #require(await eventually { server.requests.count == 1 }, "the request never reached the server")
        task.cancel()
        #expect(await eventually { outcome.value != nil })
        #expect(outcome.value == "cancelled")
    }

    /// Answers racing cancellations: each exchange ends (answered or cancelled), none wedges
    /// (URLSession, the transport before HTTPClient, could deadlock here).
    @Test func answersRacingCancellationsNeverWedge() async throws {
        let rounds = 40
        let server = try CannedHTTPServer(replies: Array(repeating: Self.reply("200 OK", body: "{}"), count: rounds))
        defer { server.stop() }
        let transport = HTTPTransport()
        for round in 0..<rounds {
            let outcome = Outcome()
            let task = Task {
                do {
                    let response = try await transport.send(TransportRequest(
                        method: "GET", url: server.baseURL.appendingPathComponent("v1/userinfo"), timeout: .seconds(30)))
                    outcome.set("\(response.status)")
                } catch {
                    outcome.set((error as? HTTPClientError) == .cancelled ? "cancelled" : "\(error)")
                }
            }
            try await Task.sleep(for: .microseconds(Int.random(in: 0...3000)))
            task.cancel()
            try #require(await eventually { outcome.value != nil }, "round \(round) never ended")
            #expect(outcome.value == "200" || outcome.value == "cancelled", "round \(round): \(outcome.value ?? "")")
        }
    }

    final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: String?
        var value: String? { lock.withLock { stored } }
        func set(_ value: String) { lock.withLock { stored = value } }
    }
}
