import Testing
@testable import ECDHTTP

@Suite("Parser: requests it accepts")
struct ParserAcceptanceTests {
    @Test(arguments: feedSteps) func simpleGet(step: Int?) {
        let o = parse("GET /hello HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\nx-a:  2 \r\n\r\n", step: step)
        #expect(o.error == nil)
        let r = try! #require(o.first)
        #expect(r.method == .get)
        #expect(r.target == "/hello")
        #expect(r.version == .http1_1)
        #expect(r.headers["host"] == "example.com")
        #expect(r.headers.values(for: "X-A") == ["1", "2"])
        #expect(r.body.isEmpty)
        #expect(o.requests[0].keepAlive)
    }

    @Test(arguments: feedSteps) func keepAliveRules(step: Int?) {
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", step: step).requests[0].keepAlive == false)
        #expect(parse("GET / HTTP/1.0\r\n\r\n", step: step).requests[0].keepAlive == false)
        #expect(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", step: step).requests[0].keepAlive == true)
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", step: step).requests[0].keepAlive == false)
    }

    @Test(arguments: feedSteps) func leadingEmptyLinesAreIgnored(step: Int?) {
        let o = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", step: step)
        #expect(o.requests.count == 1)
    }

    @Test(arguments: feedSteps) func pipelinedRequestsAndBodiesDoNotLeak(step: Int?) {
        // The body looks like a request; it must stay a body, and the next request must start after it.
        let o = parse("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 18\r\n\r\nGET /evil HTTP/1.1GET /b HTTP/1.1\r\nHost: a\r\n\r\n", step: step)
        #expect(o.error == nil)
        #expect(o.requests.count == 2)
        #expect(o.requests[0].request.body == Array("GET /evil HTTP/1.1".utf8))
        #expect(o.requests[1].request.path == "/b")
        #expect(o.requests[1].request.body.isEmpty)
    }

    @Test(arguments: feedSteps) func contentLengthBody(step: Int?) {
        let o = parse("POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", step: step)
        #expect(o.first?.body == Array("hello world".utf8))
    }

    @Test(arguments: feedSteps) func repeatedIdenticalContentLengthIsAccepted(step: Int?) {
        let o = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc", step: step)
        #expect(o.first?.body == Array("abc".utf8))
    }

    @Test(arguments: feedSteps) func chunkedBodyWithExtensionsAndTrailers(step: Int?) {
        let o = parse(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;name=value\r\nhello\r\nA ; x\r\n, world!!!\r\n0\r\nTrailer-A: 1\r\nTrailer-B: 2\r\n\r\n"
                + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n", step: step)
        #expect(o.error == nil)
        #expect(o.requests.count == 2)
        #expect(o.first?.body == Array("hello, world!!!".utf8))
        #expect(o.first?.headers["Trailer-A"] == nil)
        #expect(o.requests[1].request.path == "/next")
    }

    @Test(arguments: feedSteps) func transferEncodingIsCaseInsensitive(step: Int?) {
        let o = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", step: step)
        #expect(o.first?.body == [UInt8(ascii: "x")])
    }

    @Test(arguments: feedSteps) func expectContinue(step: Int?) {
        let o = parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", step: step)
        #expect(o.continues == 1)
        #expect(o.first?.body == Array("hi".utf8))
    }

    @Test func expectationOtherThanContinueIs417() {
        #expect(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n").status == 417)
    }

    @Test(arguments: feedSteps) func targetIsDecoded(step: Int?) {
        let o = parse("GET /v1/a%40b.com/x?q=a+b&e=%3D%26&flag&=v HTTP/1.1\r\nHost: a\r\n\r\n", step: step)
        let r = try! #require(o.first)
        #expect(r.path == "/v1/a@b.com/x")
        #expect(r.rawPath == "/v1/a%40b.com/x")
        #expect(r.rawQuery == "q=a+b&e=%3D%26&flag&=v")
        #expect(r.query("q") == "a b")
        #expect(r.query("e") == "=&")
        #expect(r.query("flag") == "")
        #expect(r.queryItems.count == 4)
    }

    @Test func absoluteFormAndAsterisk() {
        #expect(parse("GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n").first?.rawPath == "/a")
        #expect(parse("GET HTTP://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n").first?.path == "/")
        #expect(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").first?.path == "*")
        #expect(parse("GET * HTTP/1.1\r\nHost: a\r\n\r\n").status == 400)
    }

    @Test func higherMinorVersionIsServedAsHTTP11() {
        #expect(parse("GET / HTTP/1.7\r\nHost: a\r\n\r\n").first?.version == .http1_1)
    }

    @Test func http10NeedsNoHost() {
        #expect(parse("GET / HTTP/1.0\r\n\r\n").first?.version == .http1_0)
    }

    @Test func headIsParsed() {
        #expect(parse("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n").first?.method == .head)
    }

    @Test func obsTextInValuesIsKept() {
        let o = parse(Array("GET / HTTP/1.1\r\nHost: a\r\nX: caf".utf8) + [0xC3, 0xA9] + Array("\r\n\r\n".utf8))
        #expect(o.first?.headers["X"] == "café")
    }

    @Test func partialInputWaits() {
        let o = parse("GET / HTTP/1.1\r\nHost: a\r\n")
        #expect(o.error == nil && o.requests.isEmpty)
        let body = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        #expect(body.error == nil && body.requests.isEmpty)
    }
}
