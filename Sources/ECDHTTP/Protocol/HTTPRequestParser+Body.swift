extension HTTPRequestParser {
    /// chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1). Returns the bytes consumed, or nil
    /// when the line is not complete yet. Extensions are checked for syntax and ignored.
    mutating func chunkSizeLine(_ buf: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int? {
        guard let lf = buf.firstIndex(of: ByteClass.lf, from: 0) else {
            if buf.count > limits.maxChunkLineBytes { throw .bad("chunk extension too long") }
            if let bad = buf.firstIndex(where: { !Self.isChunkLineByte($0) }) {
                // A bare CR (or any control) can never start a valid line ending here.
                if !(buf[bad] == ByteClass.cr && bad == buf.count - 1) { throw .bad("malformed chunk size line") }
            }
            return nil
        }
        guard lf + 1 <= limits.maxChunkLineBytes else { throw .bad("chunk extension too long") }
        guard lf > 0 && buf[lf - 1] == ByteClass.cr else { throw .bad("chunk size line not ended by CRLF") }
        let line = buf.slice(0, lf - 1)

        var size = 0
        var i = 0
        while i < line.count, let digit = ByteClass.hexValue(line[i]) {
            let (m, o1) = size.multipliedReportingOverflow(by: 16)
            let (s, o2) = m.addingReportingOverflow(digit)
            guard !o1 && !o2 else { throw .bad("chunk size overflow") }
            size = s
            i += 1
        }
        guard i > 0 else { throw .bad("malformed chunk size") }
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): only its shape matters.
        var j = i
        while j < line.count && ByteClass.isWhitespace(line[j]) { j += 1 }
        if j < line.count {
            guard line[j] == UInt8(ascii: ";") else { throw .bad("malformed chunk size") }
            for k in j..<line.count where !ByteClass.isFieldValueChar(line[k]) {
                throw .bad("malformed chunk extension")
            }
        } else if j > i {
            throw .bad("malformed chunk size")
        }

        if size == 0 {
            state = .trailers
        } else {
            let (total, overflow) = pending!.body.count.addingReportingOverflow(size)
            if overflow || total > limits.maxBodyBytes { throw HTTPParseError(.contentTooLarge, "body too large") }
            pending!.body.reserveCapacity(total)
            state = .chunkData(remaining: size)
        }
        return lf + 1
    }

    static func isChunkLineByte(_ c: UInt8) -> Bool { ByteClass.isFieldValueChar(c) }

    /// trailer-section = *( field-line CRLF ) CRLF. Trailer fields are checked and dropped: none
    /// of ours need them, and merging them into headers would let them override framing fields.
    mutating func trailerLine(_ buf: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int? {
        guard let lf = buf.firstIndex(of: ByteClass.lf, from: 0) else {
            if trailerBytes + buf.count > limits.maxHeaderBytes {
                throw HTTPParseError(.requestHeaderFieldsTooLarge, "trailer section too large")
            }
            return nil
        }
        // Size before syntax, so that the outcome does not depend on how the bytes were split.
        if trailerBytes + lf + 1 > limits.maxHeaderBytes {
            throw HTTPParseError(.requestHeaderFieldsTooLarge, "trailer section too large")
        }
        guard lf > 0 && buf[lf - 1] == ByteClass.cr else { throw .bad("bare LF line ending") }
        if lf == 1 {
            state = .head
            return 2
        }
        trailerBytes += lf + 1
        trailerCount += 1
        if trailerCount > limits.maxHeaderCount {
            throw HTTPParseError(.requestHeaderFieldsTooLarge, "too many trailer fields")
        }
        _ = try Self.parseFieldLine(buf.slice(0, lf - 1))
        return lf + 1
    }
}
