extension HTTPRequestParser {
    /// Parses a complete head (request line, field lines, final CRLF) and sets up body reading.
    mutating func parseHead(_ head: UnsafeRawBufferPointer) throws(HTTPParseError) {
        let line = head.slice(0, requestLineEnd - 2)
        let (method, target, version) = try Self.parseRequestLine(line)

        var headers = HTTPHeaders()
        headers.reserveCapacity(headerCount)
        var hostCount = 0
        var contentLength: Int?
        var codings = TransferCodings()
        var sawTransferEncoding = false
        var connectionClose = false
        var connectionKeepAlive = false
        var expectContinue = false

        var start = requestLineEnd
        let end = head.count - 2  // the final empty line
        while start < end {
            let lf = head.firstIndex(of: ByteClass.lf, from: start)!  // scanHead saw every line end
            let (name, value) = try Self.parseFieldLine(head.slice(start, lf - 1))
            start = lf + 1

            if ByteClass.equalsLowercased(name, "host") {
                hostCount += 1
            } else if ByteClass.equalsLowercased(name, "content-length") {
                let length = try Self.parseContentLength(value)
                // RFC 9112 §6.3: differing lengths are unrecoverable; repeats of one value are not.
                if let existing = contentLength, existing != length { throw .bad("conflicting Content-Length") }
                contentLength = length
            } else if ByteClass.equalsLowercased(name, "transfer-encoding") {
                sawTransferEncoding = true
                codings.add(value)
            } else if ByteClass.equalsLowercased(name, "connection") {
                Self.forEachListElement(value) { token in
                    if ByteClass.equalsLowercased(token, "close") { connectionClose = true }
                    if ByteClass.equalsLowercased(token, "keep-alive") { connectionKeepAlive = true }
                }
            } else if ByteClass.equalsLowercased(name, "expect") {
                guard ByteClass.equalsLowercased(value, "100-continue") else {
                    throw HTTPParseError(.expectationFailed, "unsupported expectation")
                }
                expectContinue = true
            }
            headers.add(name: name.asString, value: value.asString)
        }

        // RFC 9112 §3.2: a 1.1 request has exactly one Host; any request has at most one.
        if hostCount > 1 { throw .bad("duplicate Host header") }
        if hostCount == 0 && version == .http1_1 { throw .bad("missing Host header") }
        // RFC 9112 §6.1: both framings at once is a smuggling vector; refuse it.
        if sawTransferEncoding {
            if contentLength != nil { throw .bad("both Content-Length and Transfer-Encoding") }
            try codings.validate()
        }
        if let length = contentLength, length > limits.maxBodyBytes {
            throw HTTPParseError(.contentTooLarge, "body too large")
        }

        let (path, rawPath, rawQuery, queryItems) = try Self.parseTarget(target, method: method)
        pending = HTTPRequest(
            method: method, target: target.asString, path: path, rawPath: rawPath, rawQuery: rawQuery,
            queryItems: queryItems, version: version, headers: headers, body: []
        )
        // RFC 9112 §9.3: 1.1 persists unless closed; 1.0 only when asked to.
        pendingKeepAlive = version == .http1_1 ? !connectionClose : (connectionKeepAlive && !connectionClose)
        // A 1.0 request with Transfer-Encoding is faulty framing: answer it, then close (§6.1).
        if sawTransferEncoding && version == .http1_0 { pendingKeepAlive = false }

        if sawTransferEncoding {
            state = .chunkSize
            pendingContinue = expectContinue && version == .http1_1
        } else if let length = contentLength, length > 0 {
            state = .fixedBody(remaining: length)
            pendingContinue = expectContinue && version == .http1_1
        } else {
            state = .head
        }
    }

    /// request-line = method SP request-target SP HTTP-version (RFC 9112 §3), single spaces only.
    static func parseRequestLine(_ line: UnsafeRawBufferPointer) throws(HTTPParseError)
        -> (HTTPMethod, UnsafeRawBufferPointer, HTTPVersion)
    {
        guard let sp1 = line.firstIndex(of: ByteClass.sp, from: 0), sp1 > 0 else { throw .bad("malformed request line") }
        let methodBytes = line.slice(0, sp1)
        for c in methodBytes where !ByteClass.isTokenChar(c) { throw .bad("invalid method") }
        guard let sp2 = line.firstIndex(of: ByteClass.sp, from: sp1 + 1) else { throw .bad("missing HTTP version") }
        let target = line.slice(sp1 + 1, sp2)
        guard !target.isEmpty else { throw .bad("empty request target") }
        for c in target where !ByteClass.isTargetChar(c) { throw .bad("invalid request target") }

        // HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive (§2.3).
        let v = line.slice(sp2 + 1, line.count)
        guard v.count == 8, v[0] == UInt8(ascii: "H"), v[1] == UInt8(ascii: "T"), v[2] == UInt8(ascii: "T"),
              v[3] == UInt8(ascii: "P"), v[4] == UInt8(ascii: "/"), v[6] == UInt8(ascii: "."),
              (48...57).contains(v[5]), (48...57).contains(v[7])
        else { throw .bad("malformed HTTP version") }
        let major = Int(v[5] - 48), minor = Int(v[7] - 48)
        guard major == 1 else { throw HTTPParseError(.httpVersionNotSupported, "HTTP version not supported") }
        // §2.6: a higher minor version of HTTP/1 is served as the highest we speak.
        let version = minor == 0 ? HTTPVersion.http1_0 : HTTPVersion.http1_1
        return (method(methodBytes), target, version)
    }

    /// The common methods without allocating a string.
    static func method(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
        switch bytes.count {
        case 3:
            if bytes[0] == UInt8(ascii: "G") && bytes[1] == UInt8(ascii: "E") && bytes[2] == UInt8(ascii: "T") { return .get }
            if bytes[0] == UInt8(ascii: "P") && bytes[1] == UInt8(ascii: "U") && bytes[2] == UInt8(ascii: "T") { return .put }
        case 4:
            if bytes.elementsEqual("POST".utf8) { return .post }
            if bytes.elementsEqual("HEAD".utf8) { return .head }
        case 6:
            if bytes.elementsEqual("DELETE".utf8) { return .delete }
        default:
            break
        }
        return HTTPMethod(bytes.asString)
    }

    /// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). No space before the colon
    /// (§5.1), no obs-fold (§5.2), no NUL/CR/LF/controls in the value (RFC 9110 §5.5).
    static func parseFieldLine(_ line: UnsafeRawBufferPointer) throws(HTTPParseError)
        -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
    {
        guard let first = line.first else { throw .bad("empty field line") }
        if ByteClass.isWhitespace(first) { throw .bad("obsolete line folding") }
        guard let colon = line.firstIndex(of: ByteClass.colon, from: 0) else { throw .bad("field line without colon") }
        guard colon > 0 else { throw .bad("empty field name") }
        let name = line.slice(0, colon)
        for c in name where !ByteClass.isTokenChar(c) {
            if ByteClass.isWhitespace(c) { throw .bad("whitespace before colon") }
            throw .bad("invalid field name")
        }
        let value = line.slice(colon + 1, line.count).trimmingWhitespace()
        for c in value where !ByteClass.isFieldValueChar(c) { throw .bad("invalid character in field value") }
        return (name, value)
    }

    /// Content-Length = 1*DIGIT, possibly a list of one repeated value (RFC 9110 §8.6).
    static func parseContentLength(_ value: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        var result: Int?
        var failure: HTTPParseError?
        forEachListElement(value, keepEmpty: true) { element in
            guard failure == nil else { return }
            guard !element.isEmpty else { failure = .bad("malformed Content-Length"); return }
            var n = 0
            for c in element {
                guard c >= 48 && c <= 57 else { failure = .bad("malformed Content-Length"); return }
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int(c - 48))
                guard !o1 && !o2 else { failure = .bad("Content-Length overflow"); return }
                n = s
            }
            if let r = result, r != n { failure = .bad("conflicting Content-Length"); return }
            result = n
        }
        if let failure { throw failure }
        guard let result else { throw .bad("malformed Content-Length") }
        return result
    }

    /// What the Transfer-Encoding fields said, across all of them, in order.
    struct TransferCodings {
        var any = false
        var chunkedCount = 0
        var lastIsChunked = false
        var unknown = false

        mutating func add(_ value: UnsafeRawBufferPointer) {
            HTTPRequestParser.forEachListElement(value) { coding in
                any = true
                if ByteClass.equalsLowercased(coding, "chunked") {
                    chunkedCount += 1
                    lastIsChunked = true
                } else {
                    unknown = true
                    lastIsChunked = false
                }
            }
        }

        /// Only a single, final `chunked` is accepted (RFC 9112 §6.1, §7): chunked anywhere but
        /// last, or twice, is a 400; any other coding is a 501.
        func validate() throws(HTTPParseError) {
            guard any else { throw .bad("empty Transfer-Encoding") }
            if chunkedCount > 1 { throw .bad("chunked applied twice") }
            if chunkedCount == 1 && !lastIsChunked { throw .bad("chunked is not the final transfer coding") }
            if unknown { throw HTTPParseError(.notImplemented, "unsupported transfer coding") }
        }
    }

    /// Calls `body` with each trimmed element of a comma-separated list; empty elements are
    /// skipped (RFC 9110 §5.6.1) unless `keepEmpty`.
    static func forEachListElement(
        _ value: UnsafeRawBufferPointer, keepEmpty: Bool = false, _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        var start = 0
        while start <= value.count {
            let end = value.firstIndex(of: UInt8(ascii: ","), from: start) ?? value.count
            let element = value.slice(start, end).trimmingWhitespace()
            if keepEmpty || !element.isEmpty { body(element) }
            start = end + 1
        }
    }
}
