import Testing
@testable import ECDHTTP

/// Each RFC 9112 rule the parser enforces, one case per rule, fed whole and byte by byte.
@Suite("Parser: requests it refuses")
struct ParserRejectionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let input: String
        let status: Int
        var testDescription: String { name }
    }

    static let badRequests: [Case] = [
        Case(name: "missing version", input: "GET /\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "lower-case version", input: "GET / http/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "malformed version", input: "GET / HTTP/1.1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "version without dot", input: "GET / HTTP/11\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "non-token method", input: "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "double space in request line", input: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "trailing space in request line", input: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", status: 400),
        Case(name: "control in target", input: "GET /a\u{1}b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "non-origin target", input: "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "malformed percent in path", input: "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "malformed percent in query", input: "GET /a?x=%4 HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "non-token field name", input: "GET / HTTP/1.1\r\nHost: a\r\nBad@Name: x\r\n\r\n", status: 400),
        Case(name: "line without colon", input: "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", status: 400),
        Case(name: "empty field name", input: "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", status: 400),
        Case(name: "space before colon", input: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", status: 400),
        Case(name: "tab before colon", input: "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", status: 400),
        Case(name: "obs-fold", input: "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", status: 400),
        Case(name: "obs-fold with tab", input: "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n", status: 400),
        Case(name: "NUL in value", input: "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n", status: 400),
        Case(name: "bare CR in value", input: "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", status: 400),
        Case(name: "DEL in value", input: "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}b\r\n\r\n", status: 400),
        Case(name: "bare LF after request line", input: "GET / HTTP/1.1\nHost: a\r\n\r\n", status: 400),
        Case(name: "bare LF after field", input: "GET / HTTP/1.1\r\nHost: a\n\r\n", status: 400),
        Case(name: "bare LF ending the head", input: "GET / HTTP/1.1\r\nHost: a\r\n\n", status: 400),
        Case(name: "bare LF before request", input: "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "missing Host on 1.1", input: "GET / HTTP/1.1\r\nX: a\r\n\r\n", status: 400),
        Case(name: "duplicate Host", input: "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", status: 400),
        Case(name: "duplicate Host on 1.0", input: "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "CL with TE", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400),
        Case(name: "TE with CL", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", status: 400),
        Case(name: "two different CLs", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", status: 400),
        Case(name: "CL list of different values", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n", status: 400),
        Case(name: "CL with plus sign", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n", status: 400),
        Case(name: "CL negative", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -3\r\n\r\n", status: 400),
        Case(name: "CL hex", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\n", status: 400),
        Case(name: "CL empty", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", status: 400),
        Case(name: "CL overflow", input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", status: 400),
        Case(name: "chunked not final", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", status: 400),
        Case(name: "chunked not final across fields", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", status: 400),
        Case(name: "chunked twice", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", status: 400),
        Case(name: "empty TE", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", status: 400),
        Case(name: "other coding", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", status: 501),
        Case(name: "other coding before chunked", input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", status: 501),
        Case(name: "HTTP/2.0", input: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", status: 505),
        Case(name: "HTTP/0.9 version", input: "GET / HTTP/0.9\r\nHost: a\r\n\r\n", status: 505),
    ]

    static let chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    static let badChunks: [Case] = [
        Case(name: "chunk size with sign", input: chunked + "+5\r\nhello\r\n0\r\n\r\n", status: 400),
        Case(name: "negative chunk size", input: chunked + "-5\r\nhello\r\n0\r\n\r\n", status: 400),
        Case(name: "hex prefix", input: chunked + "0x5\r\nhello\r\n0\r\n\r\n", status: 400),
        Case(name: "missing size", input: chunked + ";x\r\nhello\r\n0\r\n\r\n", status: 400),
        Case(name: "chunk size overflow", input: chunked + "FFFFFFFFFFFFFFFFFF\r\n", status: 400),
        Case(name: "space in size", input: chunked + "5 5\r\nhello\r\n0\r\n\r\n", status: 400),
        Case(name: "chunk line bare LF", input: chunked + "5\nhello\r\n0\r\n\r\n", status: 400),
        Case(name: "chunk data without CRLF", input: chunked + "5\r\nhelloX\r\n0\r\n\r\n", status: 400),
        Case(name: "chunk data with bare LF", input: chunked + "5\r\nhello\n0\r\n\r\n", status: 400),
        Case(name: "control in extension", input: chunked + "5;a\u{1}b\r\nhello\r\n0\r\n\r\n", status: 400),
        Case(name: "bad trailer", input: chunked + "0\r\nno colon\r\n\r\n", status: 400),
        Case(name: "trailer bare LF", input: chunked + "0\r\nA: b\n\r\n", status: 400),
    ]

    @Test(arguments: badRequests) func refused(_ c: Case) {
        for step in feedSteps {
            let outcome = parse(c.input, step: step)
            #expect(outcome.status == c.status, "step \(String(describing: step)): \(String(describing: outcome.error))")
            #expect(outcome.requests.isEmpty)
        }
    }

    @Test(arguments: badChunks) func refusedChunks(_ c: Case) {
        for step in feedSteps {
            let outcome = parse(c.input, step: step)
            #expect(outcome.status == c.status, "step \(String(describing: step)): \(String(describing: outcome.error))")
            #expect(outcome.requests.isEmpty)
        }
    }

    @Test func oversizedChunkExtension() {
        var limits = HTTPLimits()
        limits.maxChunkLineBytes = 64
        let long = ParserRejectionTests.chunked + "5;" + String(repeating: "x", count: 100) + "\r\nhello\r\n0\r\n\r\n"
        #expect(parse(long, limits: limits).status == 400)
        #expect(parse(long, limits: limits, step: 1).status == 400)
        let unterminated = ParserRejectionTests.chunked + "5;" + String(repeating: "x", count: 100)
        #expect(parse(unterminated, limits: limits).status == 400)
    }
}
