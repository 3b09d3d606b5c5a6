/// An incremental, strict HTTP/1.1 request parser (RFC 9112).
///
/// Feed it bytes with `parse(_:)`; it returns how many it consumed and what happened. Bytes it did
/// not consume must be presented again at the start of the next call, followed by newer ones: the
/// head is only consumed once complete (so it is parsed in one pass, from one contiguous buffer),
/// bodies are consumed as they arrive. Any input, down to one byte per call, gives the same result.
/// Every refusal is an `HTTPParseError` whose status the connection answers before closing.
public struct HTTPRequestParser: Sendable {
    public enum Event: Sendable {
        /// Nothing complete yet: keep the unconsumed bytes and call again with more.
        case needMore
        /// A head is complete and its body is still to come (the head's `body` is empty). The
        /// caller may answer on the head alone, without reading the body; otherwise it calls
        /// again and the body is read. `expectsContinue`: the client waits for `100 Continue`.
        case head(HTTPRequest, expectsContinue: Bool)
        /// A complete request; `keepAlive` says whether the connection may carry another.
        case request(HTTPRequest, keepAlive: Bool)
    }

    enum State: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
    }

    let limits: HTTPLimits
    var state: State = .head
    /// Bytes of the current head already searched for line ends (the caller keeps them for us).
    var scanned = 0
    var requestLineEnd = 0
    /// Start of the head line being scanned (offset from the head's first byte).
    var headLineStart = 0
    var headerCount = 0
    var trailerBytes = 0
    var trailerCount = 0
    var pending: HTTPRequest?
    var pendingKeepAlive = true
    var pendingContinue = false

    public init(limits: HTTPLimits = HTTPLimits()) { self.limits = limits }

    /// True while a head has been parsed and its body is being read.
    public var isReadingBody: Bool {
        if case .head = state { return false }
        return true
    }

    /// True once any byte of a request has been consumed or scanned (the header timeout runs).
    public var hasPartialHead: Bool { scanned > 0 }

    /// The body still to read when it was declared by `Content-Length` (nil for none or chunked).
    public var remainingDeclaredBody: Int? {
        if case .fixedBody(let remaining) = state { return remaining }
        return nil
    }

    /// Memory held for the body of the request being read: what a connection charges to a
    /// server-wide budget.
    public var bodyCapacity: Int { pending?.body.capacity ?? 0 }

    public mutating func parse(_ buffer: UnsafeRawBufferPointer) throws(HTTPParseError) -> (consumed: Int, event: Event) {
        var offset = 0
        while true {
            let rest = buffer.slice(offset, buffer.count)
            switch state {
            case .head:
                switch try scanHead(rest) {
                case .needMore:
                    return (offset, .needMore)
                case .skip(let n):
                    offset += n
                case .complete(let n):
                    try parseHead(rest.slice(0, n))
                    offset += n
                    if case .head = state { return (offset, finish()) }
                    let expectsContinue = pendingContinue
                    pendingContinue = false
                    return (offset, .head(pending!, expectsContinue: expectsContinue))
                }
            case .fixedBody(let remaining):
                let n = min(remaining, rest.count)
                // Reserved only now that the caller has seen the head and let the body come.
                if pending!.body.isEmpty { pending!.body.reserveCapacity(remaining) }
                pending!.body.append(contentsOf: rest.slice(0, n))
                offset += n
                if n == remaining { return (offset, finish()) }
                state = .fixedBody(remaining: remaining - n)
                return (offset, .needMore)
            case .chunkSize:
                guard let n = try chunkSizeLine(rest) else { return (offset, .needMore) }
                offset += n
            case .chunkData(let remaining):
                let n = min(remaining, rest.count)
                pending!.body.append(contentsOf: rest.slice(0, n))
                offset += n
                if n < remaining {
                    state = .chunkData(remaining: remaining - n)
                    return (offset, .needMore)
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                // RFC 9112 §7.1: chunk-data is followed by exactly CRLF.
                guard rest.count >= 2 else {
                    if rest.count == 1 && rest[0] != ByteClass.cr { throw .bad("chunk data not followed by CRLF") }
                    return (offset, .needMore)
                }
                guard rest[0] == ByteClass.cr && rest[1] == ByteClass.lf else {
                    throw .bad("chunk data not followed by CRLF")
                }
                offset += 2
                state = .chunkSize
            case .trailers:
                guard let n = try trailerLine(rest) else { return (offset, .needMore) }
                offset += n
                if case .head = state { return (offset, finish()) }
            }
        }
    }

    /// Hands out the finished request and gets ready for the next one.
    mutating func finish() -> Event {
        let request = pending!
        let keepAlive = pendingKeepAlive
        pending = nil
        state = .head
        scanned = 0
        requestLineEnd = 0
        headLineStart = 0
        headerCount = 0
        trailerBytes = 0
        trailerCount = 0
        return .request(request, keepAlive: keepAlive)
    }

    // MARK: Head framing

    enum HeadScan { case needMore, skip(Int), complete(Int) }

    /// Finds the end of the head (an empty line), enforcing line endings and size limits as bytes
    /// arrive, so an endless head is refused at the limit rather than buffered.
    mutating func scanHead(_ buf: UnsafeRawBufferPointer) throws(HTTPParseError) -> HeadScan {
        if scanned == 0 && buf.count > 0 {
            // RFC 9112 §2.2: ignore empty lines (CRLF) before the request line.
            if buf[0] == ByteClass.cr {
                guard buf.count >= 2 else { return .needMore }
                guard buf[1] == ByteClass.lf else { throw .bad("bare CR") }
                return .skip(2)
            }
            if buf[0] == ByteClass.lf { throw .bad("bare LF line ending") }
        }
        var i = scanned
        while let lf = buf.firstIndex(of: ByteClass.lf, from: i) {
            // Size limits first, then syntax: the outcome then depends only on the bytes, never on
            // how they were split into reads (a line over the limit is refused the same way
            // whether or not its end has arrived yet).
            if requestLineEnd == 0 {
                if lf + 1 > limits.maxRequestLineBytes { throw HTTPParseError(.uriTooLong, "request line too long") }
            } else if lf + 1 - requestLineEnd > limits.maxHeaderBytes {
                throw HTTPParseError(.requestHeaderFieldsTooLarge, "header section too large")
            }
            guard lf > 0 && buf[lf - 1] == ByteClass.cr else { throw .bad("bare LF line ending") }
            if requestLineEnd == 0 {
                requestLineEnd = lf + 1
            } else if lf - 1 == headLineStart {
                scanned = lf + 1
                return .complete(lf + 1)
            } else {
                headerCount += 1
                if headerCount > limits.maxHeaderCount {
                    throw HTTPParseError(.requestHeaderFieldsTooLarge, "too many header fields")
                }
            }
            headLineStart = lf + 1
            i = lf + 1
        }
        scanned = buf.count
        if requestLineEnd == 0 {
            if buf.count > limits.maxRequestLineBytes { throw HTTPParseError(.uriTooLong, "request line too long") }
        } else if buf.count - requestLineEnd > limits.maxHeaderBytes {
            throw HTTPParseError(.requestHeaderFieldsTooLarge, "header section too large")
        }
        return .needMore
    }
}
