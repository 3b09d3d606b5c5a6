/// Reads one HTTP/1.1 response off a connection (RFC 9112): status line, header fields, and the
/// body framed by `Transfer-Encoding: chunked`, `Content-Length`, or the end of the connection.
/// Interim 1xx responses are skipped. Anything else is `malformedResponse`; a stream ending before
/// the framing says the response is complete is `connectionLost`.
struct HTTPResponseReader {
    static let maxHeadBytes = 64 * 1024
    /// Bytes a response may take on the wire beyond its body: its head, interim 1xx responses,
    /// chunk lines and extensions, trailers. Each of those is bounded on its own, but not their
    /// number: a server sending 1xx responses, chunk extensions or trailer fields without end
    /// would otherwise grow the buffer until the deadline.
    static let maxFramingBytes = 4 * maxHeadBytes

    let connection: HTTPConnection
    let maxBodyBytes: Int
    private var received = 0
    private var buffer: [UInt8] = []
    private var start = 0
    private var chunk = [UInt8](repeating: 0, count: 16 * 1024)

    init(connection: HTTPConnection, maxBodyBytes: Int) {
        self.connection = connection
        self.maxBodyBytes = maxBodyBytes
    }

    /// The response, and whether the connection may carry another request.
    mutating func read(method: String) throws(HTTPClientError) -> (HTTPClientResponse, reusable: Bool) {
        while true {
            let (status, version, headers) = try readHead()
            if (100..<200).contains(status) { continue }
            let connectionTokens = (headers["connection"] ?? "").lowercased()
            var reusable = version == "HTTP/1.1" ? !connectionTokens.contains("close") : connectionTokens.contains("keep-alive")
            let body: [UInt8]
            if method == "HEAD" || status == 204 || status == 304 {
                body = []
            } else if let coding = headers["transfer-encoding"] {
                guard coding.lowercased().split(separator: ",").last?.trimmed == "chunked" else {
                    throw .malformedResponse("unsupported transfer-encoding")
                }
                body = try readChunked()
            } else if let length = headers["content-length"] {
                // Repeated identical values arrive joined as "n, n" (RFC 9110 §8.6 allows them).
                let values = Set(length.split(separator: ",").map { $0.trimmed })
                guard values.count == 1, let text = values.first, !text.isEmpty, text.utf8.allSatisfy({ (48...57).contains($0) }),
                      let count = Int(text) else { throw .malformedResponse("invalid content-length") }
                guard count <= maxBodyBytes else { throw .responseTooLarge }
                body = try take(count)
            } else {
                reusable = false
                body = try readToEnd()
            }
            if start < buffer.count { reusable = false } // bytes nobody asked for
            return (HTTPClientResponse(status: status, headers: headers, body: body), reusable)
        }
    }

    private mutating func fill() throws(HTTPClientError) -> Bool {
        if start > 0, start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        let count = try connection.read(into: &chunk)
        guard count > 0 else { return false }
        received += count
        guard received <= maxBodyBytes + Self.maxFramingBytes else { throw .responseTooLarge }
        buffer.append(contentsOf: chunk[..<count])
        return true
    }

    private mutating func readHead() throws(HTTPClientError) -> (Int, String, [String: String]) {
        var end: Int?
        var searched = start
        while end == nil {
            end = Self.find([13, 10, 13, 10], in: buffer, from: max(start, searched - 3))
            if end != nil { break }
            guard buffer.count - start <= Self.maxHeadBytes else { throw .responseTooLarge }
            searched = buffer.count
            guard try fill() else {
                throw buffer.count == start ? .connectionLost : .malformedResponse("incomplete header")
            }
        }
        guard end! - start <= Self.maxHeadBytes else { throw .responseTooLarge }
        let head = buffer[start..<end!]
        start = end! + 4
        var lines = head.split(separator: 10, omittingEmptySubsequences: false).map { line in
            line.last == 13 ? line.dropLast() : line
        }
        let statusLine = String(decoding: lines.removeFirst(), as: UTF8.self)
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0", parts[1].utf8.count == 3,
              parts[1].utf8.allSatisfy({ (48...57).contains($0) }), let status = Int(parts[1]), status >= 100 else {
            throw .malformedResponse("invalid status line")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: 58), colon > line.startIndex,
                  line.first != 32, line.first != 9 else { throw .malformedResponse("invalid header line") }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            guard name.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { throw .malformedResponse("invalid header name") }
            let value = String(decoding: line[line.index(after: colon)...], as: UTF8.self).trimmed
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        return (status, String(parts[0]), headers)
    }

    private mutating func take(_ count: Int) throws(HTTPClientError) -> [UInt8] {
        while buffer.count - start < count {
            guard try fill() else { throw .connectionLost }
        }
        defer { start += count }
        return Array(buffer[start..<(start + count)])
    }

    private mutating func readLine() throws(HTTPClientError) -> [UInt8] {
        while true {
            if let end = Self.find([13, 10], in: buffer, from: start) {
                defer { start = end + 2 }
                return Array(buffer[start..<end])
            }
            guard buffer.count - start <= 4096 else { throw .malformedResponse("chunk line too long") }
            guard try fill() else { throw .connectionLost }
        }
    }

    private mutating func readChunked() throws(HTTPClientError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let line = try readLine()
            let sizeText = line.prefix { $0 != 59 } // chunk extensions after ';' are ignored
            let digits = String(decoding: sizeText, as: UTF8.self).trimmed
            // Hex digits only: `Int(_:radix:)` also takes a sign, and a size of -1 would trap in `take`.
            guard !digits.isEmpty, digits.count <= 8, digits.utf8.allSatisfy(\.isHexDigit),
                  let size = Int(digits, radix: 16) else { throw .malformedResponse("invalid chunk size") }
            if size == 0 {
                while try !readLine().isEmpty {} // trailer fields, ignored
                return body
            }
            guard body.count + size <= maxBodyBytes else { throw .responseTooLarge }
            body += try take(size)
            guard try readLine().isEmpty else { throw .malformedResponse("chunk not followed by CRLF") }
        }
    }

    private mutating func readToEnd() throws(HTTPClientError) -> [UInt8] {
        repeat {
            guard buffer.count - start <= maxBodyBytes else { throw .responseTooLarge }
        } while try fill()
        defer { start = buffer.count }
        return Array(buffer[start...])
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var index = from
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

extension StringProtocol {
    var trimmed: String {
        let bytes = Array(utf8)
        let first = bytes.firstIndex { $0 != 32 && $0 != 9 } ?? bytes.count
        let last = bytes.lastIndex { $0 != 32 && $0 != 9 } ?? -1
        return first <= last ? String(decoding: bytes[first...last], as: UTF8.self) : ""
    }
}

private extension UInt8 {
    var isHexDigit: Bool { (48...57).contains(self) || (65...70).contains(self) || (97...102).contains(self) }
}
