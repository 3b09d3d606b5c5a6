/// The first syntax error of a JSON text and where it is. Foundation's decoder on Linux says only
/// "not valid JSON" (no position) and quietly accepts a trailing comma, so a configuration file is
/// checked here first, strictly as RFC 8259 reads it. The reason never quotes the text: a
/// configuration file holds secrets.
struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based; the column counts characters (Unicode scalars), not bytes.
    let line: Int
    let column: Int
    let reason: String

    var description: String { "line \(line), column \(column): \(reason)" }
}

struct JSONSyntaxCheck {
    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0
    private static let maximumDepth = 256
    private static let noComments = "JSON has no comments (a key starting with \"//\" is ignored and can hold one)"

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Nil when `bytes` is one well-formed JSON value (whitespace around it allowed).
    static func firstError(in bytes: [UInt8]) -> JSONSyntaxError? {
        var check = JSONSyntaxCheck(bytes)
        do throws(JSONSyntaxError) {
            check.skipWhitespace()
            try check.value()
            check.skipWhitespace()
            if check.index < bytes.count { throw check.error("unexpected text after the end of the JSON value") }
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Grammar

    private mutating func value() throws(JSONSyntaxError) {
        guard let byte = peek() else { throw error("unexpected end of file (expected a value)") }
        switch byte {
        case UInt8(ascii: "{"): try object()
        case UInt8(ascii: "["): try array()
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "/"): throw error(Self.noComments)
        case UInt8(ascii: "'"): throw error("strings need double quotes")
        default: throw error("expected a value (a string in double quotes, a number, an object, a list, true, false or null)")
        }
    }

    private mutating func object() throws(JSONSyntaxError) {
        try enter()
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return
        }
        var keys: Set<[UInt8]> = []
        while true {
            guard let byte = peek() else { throw error("unexpected end of file: an object is not closed with }") }
            guard byte == UInt8(ascii: "\"") else {
                switch byte {
                case UInt8(ascii: "}"): throw error("a comma before } (JSON allows no trailing comma)")
                case UInt8(ascii: "/"): throw error(Self.noComments)
                default: throw error("expected a key in double quotes")
                }
            }
            let keyStart = index
            let key = try string()
            // Comment keys may repeat; any other key given twice means one value is silently lost.
            let isComment = key.starts(with: Array("//".utf8)) || key.starts(with: Array("_comment".utf8))
            if !isComment, !keys.insert(key).inserted {
                throw error("\"\(String(decoding: key, as: UTF8.self))\" appears twice in this object", at: keyStart)
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw error("expected : after the key") }
            index += 1
            skipWhitespace()
            try value()
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return
            case nil:
                throw error("unexpected end of file: an object is not closed with }")
            default:
                throw error("expected , or } after a value (is a comma missing?)")
            }
        }
    }

    private mutating func array() throws(JSONSyntaxError) {
        try enter()
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return
        }
        while true {
            if peek() == UInt8(ascii: "]") { throw error("a comma before ] (JSON allows no trailing comma)") }
            try value()
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return
            case nil:
                throw error("unexpected end of file: a list is not closed with ]")
            default:
                throw error("expected , or ] after a value (is a comma missing?)")
            }
        }
    }

    /// The string's raw bytes between the quotes (escapes left as written: only keys use them).
    private mutating func string() throws(JSONSyntaxError) -> [UInt8] {
        let start = index
        index += 1
        let contentStart = index
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                defer { index += 1 }
                return Array(bytes[contentStart..<index])
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    let hex = bytes.dropFirst(index + 1).prefix(4)
                    guard hex.count == 4, hex.allSatisfy(Self.isHexDigit) else {
                        throw error("\\u needs four hexadecimal digits", at: index - 1)
                    }
                    index += 5
                default:
                    throw error("invalid escape in a string (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)", at: index - 1)
                }
            case 0..<0x20:
                throw error(byte == 0x0A ? "a string is not closed before the end of the line"
                                         : "a control character in a string (write it as an escape, e.g. \\t)")
            default:
                index += 1
            }
        }
        throw error("unexpected end of file: a string is not closed", at: start)
    }

    private mutating func number() throws(JSONSyntaxError) {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), Self.isDigit(first) else { throw error("invalid number", at: start) }
        index += 1
        if first == UInt8(ascii: "0"), let next = peek(), Self.isDigit(next) {
            throw error("invalid number (no leading zeros)", at: start)
        }
        skipDigits()
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let digit = peek(), Self.isDigit(digit) else { throw error("invalid number", at: start) }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard let digit = peek(), Self.isDigit(digit) else { throw error("invalid number", at: start) }
            skipDigits()
        }
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let expected = Array(word.utf8)
        guard bytes.dropFirst(index).starts(with: expected) else {
            throw error("expected a value (a string in double quotes, a number, an object, a list, true, false or null)")
        }
        index += expected.count
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maximumDepth { throw error("nested more than \(Self.maximumDepth) levels deep") }
    }

    // MARK: - Bytes

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func skipDigits() {
        while let byte = peek(), Self.isDigit(byte) { index += 1 }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
    }

    /// The error at `offset` (default: the current byte), with its line and column.
    private func error(_ reason: String, at offset: Int? = nil) -> JSONSyntaxError {
        let end = min(offset ?? index, bytes.count)
        var line = 1
        var column = 1
        for byte in bytes[..<end] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1  // a UTF-8 continuation byte is part of the character before it
            }
        }
        return JSONSyntaxError(line: line, column: column, reason: reason)
    }
}
