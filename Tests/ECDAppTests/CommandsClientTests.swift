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
        let other = HTTPClientConnection.Response(status: 502, headers: [:], body: Array("<html>bad gateway</html>".utf8))
        #expect(InternalAPIClient.errorMessage(other) == "the daemon answered HTTP 502")
    }

    @Test("emails are percent-encoded for paths, @ kept")
    func encoding() {
        #expect(InternalAPIClient.encode("a.b+c@example.com") == "a.b%2Bc@example.com")
        #expect(InternalAPIClient.encode("x/y?z") == "x%2Fy%3Fz")
    }
}
