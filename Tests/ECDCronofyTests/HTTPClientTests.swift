import ECDTestSupport
import ECDHTTPClient
import ECDSync
import Foundation
import Testing

/// `HTTPClient` over real sockets: framing (Content-Length, chunked, to the end), keep-alive reuse,
/// TLS with the certificate's chain and name verified, and every broken response an error.
@Suite(.serialized) struct HTTPClientTests {
    private static func get(_ client: HTTPClient, _ url: String, timeout: Duration = .seconds(10)) async throws -> HTTPClientResponse {
        try await client.send(HTTPClientRequest(method: "GET", url: URL(string: url)!, timeout: timeout))
    }

    private static func failure(_ reply: String, client: HTTPClient = HTTPClient()) async throws -> HTTPClientError? {
        let server = try CannedHTTPServer(replies: [reply])
        defer { server.stop() }
        do {
            _ = try await get(client, server.baseURL.absoluteString + "/x")
            return nil
        } catch {
            return error as? HTTPClientError
        }
    }

    @Test func plainKeepAliveReusesTheConnection() async throws {
        let server = try PythonHTTPServer(tls: false)
        defer { server.stop() }
        let client = HTTPClient()
        let first = try await Self.get(client, server.url("/peer"))
        let second = try await Self.get(client, server.url("/peer"))
        #expect(first.status == 200)
        #expect(!first.body.isEmpty)
        #expect(first.body == second.body, "the second request came from another client port: not reused")
        let posted = try await client.send(HTTPClientRequest(method: "POST", url: URL(string: server.url("/echo"))!, body: Array("ping".utf8)))
        #expect(posted.body == Array("ping".utf8))
    }

    @Test func chunkedBodyIsDecoded() async throws {
        let server = try PythonHTTPServer(tls: false)
        defer { server.stop() }
        let response = try await Self.get(HTTPClient(), server.url("/chunked"))
        #expect(String(decoding: response.body, as: UTF8.self) == "hello world")
    }

    @Test func bodyToTheEndOfTheConnection() async throws {
        let server = try CannedHTTPServer(replies: ["HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 2\r\n\r\nall of it"])
        defer { server.stop() }
        let response = try await Self.get(HTTPClient(), server.baseURL.absoluteString)
        #expect(response.body == Array("all of it".utf8))
        #expect(response.headers["x-a"] == "1, 2")
    }

    @Test func truncatedResponsesAreErrors() async throws {
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") == .connectionLost)
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel") == .connectionLost)
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nContent-Le") == .malformedResponse("incomplete header"))
        #expect(try await Self.failure("") == .connectionLost)
    }

    @Test func oversizedResponsesAreErrors() async throws {
        let small = HTTPClient(maxBodyBytes: 16)
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n" + String(repeating: "a", count: 17), client: small)
            == .responseTooLarge)
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n" + String(repeating: "a", count: 17) + "\r\n0\r\n\r\n",
                                       client: small) == .responseTooLarge)
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "a", count: 17), client: small) == .responseTooLarge)
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 70_000) + "\r\n\r\n") == .responseTooLarge)
        // Exactly at the limit is fine.
        let server = try CannedHTTPServer(replies: ["HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n" + String(repeating: "a", count: 16)])
        defer { server.stop() }
        #expect(try await Self.get(small, server.baseURL.absoluteString).body.count == 16)
    }

    @Test func malformedResponsesAreErrors() async throws {
        #expect(try await Self.failure("HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n") == .malformedResponse("invalid status line"))
        #expect(try await Self.failure("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n") == .malformedResponse("invalid status line"))
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n") == .malformedResponse("invalid header line"))
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab") == .malformedResponse("invalid content-length"))
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") == .malformedResponse("invalid content-length"))
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == .malformedResponse("invalid chunk size"))
        // A sign is not a hex digit: -1 once reached `take` and trapped (the whole daemon with it).
        for size in ["-1", "+5", "-0"] {
            #expect(try await Self.failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nhello\r\n0\r\n\r\n")
                    == .malformedResponse("invalid chunk size"))
        }
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n") == .malformedResponse("unsupported transfer-encoding"))
    }

    @Test func headersWithLineBreaksAreRefusedBeforeSending() async throws {
        let request = HTTPClientRequest(method: "GET", url: URL(string: "http://127.0.0.1:9/")!, headers: [("X-Evil", "a\r\nHost: b")])
        await #expect(throws: HTTPClientError.invalidRequest("header field")) { try await HTTPClient().send(request) }
    }

    @Test func tlsWithATrustedCertificateAnswersAndKeepsTheConnection() async throws {
        let server = try PythonHTTPServer(tls: true)
        defer { server.stop() }
        let client = HTTPClient(caFile: server.certificate!)
        let first = try await Self.get(client, server.url("/peer"))
        let second = try await Self.get(client, server.url("/peer"))
        #expect(first.status == 200)
        #expect(first.body == second.body)
    }

    @Test func tlsRefusesAWrongNameAndAnUntrustedCertificate() async throws {
        let server = try PythonHTTPServer(tls: true)
        defer { server.stop() }
        // The certificate names IP 127.0.0.1 only.
        let trusting = HTTPClient(caFile: server.certificate!)
        await #expect(throws: HTTPClientError.tls("certificate of localhost refused: hostname mismatch")) {
            try await Self.get(trusting, server.url("/peer", host: "localhost"))
        }
        // The system's trust store does not hold the test's self-signed CA.
        await #expect(throws: HTTPClientError.tls("certificate of 127.0.0.1 refused: self-signed certificate")) {
            try await Self.get(HTTPClient(), server.url("/peer"))
        }
        // Nor does another CA file.
        let other = try PythonHTTPServer.makeCertificate(in: server.folder, name: "other")
        await #expect(throws: HTTPClientError.tls("certificate of 127.0.0.1 refused: self-signed certificate")) {
            try await Self.get(HTTPClient(caFile: other), server.url("/peer"))
        }
        // A CA file that does not load means no https at all, never the system's trust instead.
        await #expect(throws: HTTPClientError.tls("no trust store loaded")) {
            try await Self.get(HTTPClient(caFile: "/nonexistent/ca.pem"), server.url("/peer"))
        }
    }

    @Test func aSilentServerTimesOutOnTime() async throws {
        let server = try CannedHTTPServer(replies: [nil])
        defer { server.stop() }
        let start = ContinuousClock.now
        await #expect(throws: HTTPClientError.timedOut) {
            try await Self.get(HTTPClient(), server.baseURL.absoluteString, timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - start >= .milliseconds(290))
    }

    /// The deadline is hard on TLS too: a server that answers the handshake with a record header
    /// and then one byte of its body every 100 ms keeps each `recv` short, so the socket timeout
    /// (armed once per `SSL_connect`) never fires; before the exchange's own timer, this call
    /// waited for the whole 16 KB record, half an hour.
    @Test func aServerTricklingATLSRecordTimesOutOnTime() async throws {
        let (listener, port) = try SocketAddress.tcp(port: 0).listen()
        let stop = Locked(false)
        Thread {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            defer { close(client) }
            var hello = [UInt8](repeating: 0, count: 4096)
            _ = recv(client, &hello, hello.count, 0)
            let header: [UInt8] = [0x16, 0x03, 0x03, 0x40, 0x00] // a handshake record of 16384 bytes
            _ = send(client, header, header.count, Int32(MSG_NOSIGNAL))
            while !stop.withLock({ $0 }) {
                let byte: [UInt8] = [0x02]
                guard send(client, byte, 1, Int32(MSG_NOSIGNAL)) == 1 else { return }
                usleep(100_000)
            }
        }.start()
        defer { stop.withLock { $0 = true }; close(listener) }
        let start = ContinuousClock.now
        await #expect(throws: HTTPClientError.timedOut) {
            try await Self.get(HTTPClient(), "https://127.0.0.1:\(port)/", timeout: .milliseconds(800))
        }
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    /// Each piece of a response's framing is bounded, and so is their sum: interim responses or
    /// trailer fields without end are `responseTooLarge`, not a buffer
    /// growing until the deadline.
    @Test func endlessFramingIsTooLarge() async throws {
        let small = HTTPClient(maxBodyBytes: 16)
        let interim = String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 20_000)
        #expect(try await Self.failure(interim + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", client: small) == .responseTooLarge)
        let trailers = String(repeating: "X-Trailer: yes\r\n", count: 30_000)
        #expect(try await Self.failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + trailers + "\r\n", client: small)
                == .responseTooLarge)
    }
}
