import ECDText

/// Writes a response head and body into one buffer, so that it leaves in a single send.
enum ResponseSerializer {
    struct Framing {
        var isHead: Bool
        var keepAlive: Bool
        var requestID: String
    }

    /// Fields the server owns: a handler's copy is replaced (framing must match what we send).
    @inline(__always)
    static func isServerOwned(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: return name.equalsASCIICaseInsensitive("date")
        case 10: return name.equalsASCIICaseInsensitive("connection")
        case 12: return name.equalsASCIICaseInsensitive("x-request-id")
        case 14: return name.equalsASCIICaseInsensitive("content-length")
        case 17: return name.equalsASCIICaseInsensitive("transfer-encoding")
        default: return false
        }
    }

    /// A field a handler set that would break the message (CR/LF injection, bad name) is dropped.
    @inline(__always)
    static func isSafe(name: String, value: String) -> Bool {
        guard !name.isEmpty else { return false }
        for c in name.utf8 where !ByteClass.isTokenChar(c) { return false }
        for c in value.utf8 where !ByteClass.isFieldValueChar(c) { return false }
        return true
    }

    static func serialize(_ response: HTTPResponse, framing: Framing, date: [UInt8], into out: inout [UInt8]) {
        let code = response.status.code
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        JSONText.append(integer: code, to: &out)
        out.append(ByteClass.sp)
        out.append(contentsOf: response.status.reasonPhrase.utf8)
        out.append(contentsOf: "\r\n".utf8)
        for field in response.headers where !isServerOwned(field.name) && isSafe(name: field.name, value: field.value) {
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: date)
        // RFC 9110 §8.6: no Content-Length on 1xx/204; on 304 it would have to be the length of
        // the representation, which we do not know, so it is left out too.
        let bodyless = (100..<200).contains(code) || code == 204 || code == 304
        if !bodyless {
            out.append(contentsOf: "Content-Length: ".utf8)
            JSONText.append(integer: response.body.count, to: &out)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: framing.keepAlive ? "Connection: keep-alive\r\n".utf8 : "Connection: close\r\n".utf8)
        out.append(contentsOf: "X-Request-Id: ".utf8)
        out.append(contentsOf: framing.requestID.utf8)
        out.append(contentsOf: "\r\n\r\n".utf8)
        if !bodyless && !framing.isHead { out.append(contentsOf: response.body) }
    }
}
