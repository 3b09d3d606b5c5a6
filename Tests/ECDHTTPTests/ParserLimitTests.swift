import Testing
@testable import ECDHTTP

@Suite("Parser: limits")
struct ParserLimitTests {
    static var small: HTTPLimits {
        var limits = HTTPLimits()
        limits.maxRequestLineBytes = 64
        limits.maxHeaderBytes = 128
        limits.maxHeaderCount = 4
        limits.maxBodyBytes = 16
        return limits
    }

    @Test(arguments: feedSteps) func requestLineTooLongIs414(step: Int?) {
        let target = "/" + String(repeating: "a", count: 80)
        #expect(parse("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n", limits: Self.small, step: step).status == 414)
        // Refused before the line ends: an endless request line is never buffered.
        #expect(parse("GET \(target)", limits: Self.small, step: step).status == 414)
    }

    /// Found by the fuzzer: an over-long line ending in a bare LF was a 400 when read whole and a
    /// 414 when read in pieces. Limits are now checked before syntax, so both give 414.
    @Test(arguments: feedSteps) func overLongLineWithBareLFIs414HoweverSplit(step: Int?) {
        let line = "GET /" + String(repeating: "a", count: 80) + "\n"
        #expect(parse(line, limits: Self.small, step: step).status == 414)
        let header = "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 150) + "\n"
        #expect(parse(header, limits: Self.small, step: step).status == 431)
    }

    @Test func requestLineAtTheLimitIsAccepted() {
        let line = "GET /" + String(repeating: "a", count: 64 - 2 - 14) + " HTTP/1.1\r\n"
        #expect(line.utf8.count == 64)
        #expect(parse(line + "Host: a\r\n\r\n", limits: Self.small).error == nil)
    }

    @Test(arguments: feedSteps) func headerSectionTooLargeIs431(step: Int?) {
        let big = "X: " + String(repeating: "v", count: 150) + "\r\n"
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\n\(big)\r\n", limits: Self.small, step: step).status == 431)
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\n\(big)", limits: Self.small, step: step).status == 431)
    }

    @Test(arguments: feedSteps) func tooManyHeadersIs431(step: Int?) {
        let fields = (0..<5).map { "X-\($0): 1\r\n" }.joined()
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\n\(fields)\r\n", limits: Self.small, step: step).status == 431)
        let four = (0..<3).map { "X-\($0): 1\r\n" }.joined()
        #expect(parse("GET / HTTP/1.1\r\nHost: a\r\n\(four)\r\n", limits: Self.small, step: step).error == nil)
    }

    @Test func declaredBodyTooLargeIs413BeforeAnyBodyByte() {
        // Only the head is given: the refusal must not wait for the body.
        #expect(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n", limits: Self.small).status == 413)
        #expect(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 16\r\n\r\n" + String(repeating: "b", count: 16), limits: Self.small).error == nil)
    }

    @Test(arguments: feedSteps) func chunkedBodyTooLargeIs413(step: Int?) {
        let input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n9\r\n123456789\r\n0\r\n\r\n"
        #expect(parse(input, limits: Self.small, step: step).status == 413)
        #expect(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n", limits: Self.small).status == 413)
    }

    @Test(arguments: feedSteps) func trailersCountAgainstHeaderLimits(step: Int?) {
        let trailers = (0..<5).map { "T-\($0): 1\r\n" }.joined()
        let input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\(trailers)\r\n"
        #expect(parse(input, limits: Self.small, step: step).status == 431)
    }
}
