import Testing
@testable import ECDApp

@Suite("Internal API client pieces")
struct CommandsClientTests {
    @Test("--url spellings")
    func endpoints() throws {
        let plain = try InternalAPIEndpoint(parsing: "http://127.0.0.1:8081")
        #expect(plain.transport == .tcp(host: "127.0.0.1", port: 8081))
        #expect(plain.basePath == "")
        #expect(plain.hostHeader == "127.0.0.1:8081")
        let prefixed = try InternalAPIEndpoint(parsing: "http://[::1]:9/ecd/")
        #expect(prefixed.transport == .tcp(host: "::1", port: 9))
        #expect(prefixed.basePath == "/ecd")
        #expect(prefixed.hostHeader == "[::1]:9")
        #expect(try InternalAPIEndpoint(parsing: "http://localhost").transport == .tcp(host: "localhost", port: 80))
        #expect(try InternalAPIEndpoint(parsing: "unix:/run/ecd/internal.sock").transport == .unix(path: "/run/ecd/internal.sock"))
        for bad in ["https://127.0.0.1:8081", "unix:", "127.0.0.1:8081", "ftp://x"] {
            #expect(throws: CommandFailure.self, "\(bad)") { try InternalAPIEndpoint(parsing: bad) }
        }
    }

    @Test("responses with Content-Length, chunked bodies, and garbage")
    func responses() throws {
        let fixed = try HTTPClientConnection.parse(
            Array("HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-A: b\r\n\r\n{}trailing".utf8), from: .unix(path: "/x"))
        #expect(fixed.status == 201)
        #expect(fixed.body == Array("{}".utf8))
        #expect(fixed.headers["x-a"] == "b")
        let chunked = try HTTPClientConnection.parse(
            Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n".utf8),
            from: .unix(path: "/x"))
        #expect(String(decoding: chunked.body, as: UTF8.self) == #"{"a":1}"#)
        #expect(throws: CommandFailure.self) {
            try HTTPClientConnection.parse(Array("HTTP/1.1 200 OK\r\n".utf8), from: .unix(path: "/x"))
        }
        #expect(throws: CommandFailure.self) {
            try HTTPClientConnection.parse(Array("SMTP ready\r\n\r\n".utf8), from: .unix(path: "/x"))
        }
    }

    @Test("error answers become one readable line")
    func errorMessages() {
        let api = HTTPClientConnection.Response(
            status: 422, headers: [:], body: Array(#"{"error":{"code":"invalid","message":"accounts[0].email is not an email"}}"#.utf8))
        #expect(InternalAPIClient.errorMessage(api) == "accounts[0].email is not an email (HTTP 422, invalid)")
        let named = HTTPClientConnection.Response(
            status: 422, headers: [:], body: Array(#"{"error":{"code":"invalid_field","message":"not valid","field":"accounts[3].email"},"field":"accounts[3].email"}"#.utf8))
        #expect(InternalAPIClient.errorMessage(named) == "accounts[3].email: not valid (HTTP 422, invalid_field)")
        let other = HTTPClientConnection.Response(status: 502, headers: [:], body: Array("<html>bad gateway</html>".utf8))
        #expect(InternalAPIClient.errorMessage(other) == "the daemon answered HTTP 502")
    }

    @Test("emails are percent-encoded for paths, @ kept")
    func encoding() {
        #expect(InternalAPIClient.encode("a.b+c@example.com") == "a.b%2Bc@example.com")
        #expect(InternalAPIClient.encode("x/y?z") == "x%2Fy%3Fz")
    }
}

@Suite("Operator command pieces")
struct CommandsOperatorPieceTests {
    @Test("email lists: one per line, blank lines and # comments skipped")
    func emailLists() {
        #expect(AccountsRequestCommand.emails(in: "# head\na@x.com\n\n  b@x.com  # note\r\nc@x.com#t\n#\n")
                == ["a@x.com", "b@x.com", "c@x.com"])
    }

    @Test("progress: counts, bar, and an estimate from the request budget until the pace is known")
    func progress() {
        var progress = RequestProgress(total: 1000, requestsPerMinute: 400)
        // 20 sends of 50 and 1,000 code exchanges at 400 a minute.
        #expect(progress.estimate(pending: 1000, elapsed: 0) == 153)
        #expect(progress.line(pending: 1000, elapsed: 0).hasSuffix("0/1000 · 0 active · 0 failed · 1000 pending · about 2 min 33 s left (request budget 400/min)"))
        for _ in 0..<240 { progress.record("active") }
        for _ in 0..<10 { progress.record("failed") }
        #expect(progress.estimate(pending: 750, elapsed: 10) == 30)
        #expect(progress.line(pending: 750, elapsed: 10) == "[######..................] 250/1000 · 240 active · 10 failed · 750 pending · about 30 s left")
        #expect(progress.summary(elapsed: 41.2) == "250 of 1000 accounts settled in 42 s: 240 active, 10 failed")
    }

    @Test("--url, then ECD_URL, then ECD_INTERNAL_LISTEN, then the configuration, then the default")
    func urlOrder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let config = try folder.write("c.json", #"{"internal":{"listen":"0.0.0.0:9101"}}"#)
        func resolve(_ arguments: [String], _ environment: [String: String]) throws -> ClientOptions.Address {
            try ClientOptions.parse(arguments).resolveURL(environment: environment)
        }
        let all = ["ECD_URL": "http://127.0.0.1:9102", "ECD_INTERNAL_LISTEN": "unix:/run/ecd.sock"]
        #expect(try resolve(["--url", "http://127.0.0.1:9100", "--config", config], all).url == "http://127.0.0.1:9100")
        #expect(try resolve(["--config", config], all) == .init(url: "http://127.0.0.1:9102", origin: "ECD_URL"))
        #expect(try resolve(["--config", config], ["ECD_INTERNAL_LISTEN": "unix:/run/ecd.sock"]).url == "unix:/run/ecd.sock")
        // A wildcard bind is reached on loopback.
        #expect(try resolve(["--config", config], [:]).url == "http://127.0.0.1:9101")
        #expect(try resolve([], [:]).url == ClientOptions.defaultURL)
        #expect(throws: CommandFailure.self) { try resolve(["--config", folder.url.appendingPathComponent("missing.json").path], [:]) }
    }

    @Test("the public listener is recognised by its marker, or by its 404 page")
    func publicListener() {
        let marked = HTTPClientConnection.Response(status: 404, headers: ["x-ecd-listener": "public"], body: [])
        #expect(InternalAPIClient.isPublicListener(marked))
        let page = HTTPClientConnection.Response(status: 404, headers: ["content-type": "text/html; charset=utf-8"],
                                                 body: Array("<p>There is nothing at this address.</p>".utf8))
        #expect(InternalAPIClient.isPublicListener(page))
        let api = HTTPClientConnection.Response(status: 404, headers: ["content-type": "application/json"],
                                                body: Array(#"{"error":{"code":"not_found","message":"no account"}}"#.utf8))
        #expect(!InternalAPIClient.isPublicListener(api))
    }
}
