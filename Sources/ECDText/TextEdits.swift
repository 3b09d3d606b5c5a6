/// The few string edits the package took from Foundation (`trimmingCharacters`,
/// `replacingOccurrences`, `NSString` paths), which FoundationEssentials lacks; the daemon's
/// modules import only Essentials so that it loads no libFoundation or ICU (issue 14).
extension StringProtocol {
    /// Without leading and trailing Unicode white space, line ends included (what
    /// `trimmingCharacters(in: .whitespacesAndNewlines)` removed).
    public func trimmingWhitespace() -> String {
        trimming { $0.isWhitespace }
    }

    /// Without leading and trailing spaces and tabs (Unicode white space but line ends, what
    /// `trimmingCharacters(in: .whitespaces)` removed).
    public func trimmingSpaces() -> String {
        trimming { $0.isWhitespace && !$0.isNewline }
    }

    /// Without leading and trailing characters for which `drop` is true.
    public func trimming(while drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }) else { return "" }
        let last = lastIndex(where: { !drop($0) })!
        return String(self[first...last])
    }

    /// Every occurrence of `target` replaced by `replacement`, compared byte for byte in UTF-8
    /// (so a quote is doubled even when a combining mark follows it), left to right, not
    /// overlapping. An empty `target` changes nothing.
    public func replacingAll(_ target: some StringProtocol, with replacement: some StringProtocol) -> String {
        let source = Array(utf8)
        let needle = Array(target.utf8)
        guard !needle.isEmpty, needle.count <= source.count else { return String(self) }
        var out: [UInt8] = []
        out.reserveCapacity(source.count)
        var index = 0
        var replaced = false
        while index < source.count {
            if source[index] == needle[0], index + needle.count <= source.count,
               source[index..<(index + needle.count)].elementsEqual(needle) {
                out.append(contentsOf: replacement.utf8)
                index += needle.count
                replaced = true
            } else {
                out.append(source[index])
                index += 1
            }
        }
        return replaced ? String(decoding: out, as: UTF8.self) : String(self)
    }
}

/// File paths as strings, as `NSString`'s path methods took them apart.
public enum FilePath {
    /// The path without its last component: "/a/b" → "/a", "/a" → "/", "a" → "", "a/b/" → "a",
    /// "/" → "/" (what `NSString.deletingLastPathComponent` gave).
    public static func parent(of path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        if slash == 0 { return "/" }
        var end = slash
        while end > 1, bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}

extension StringProtocol {
    /// The UTF-8 bytes that are not ASCII letters or digits written as `%XX` (upper-case hex),
    /// the rest as they are: a value as it may be spelled inside a URL.
    public func percentEncodingAllButASCIIAlphanumerics() -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"):
                out.append(byte)
            default:
                out.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `%XX` escapes decoded; nil when an escape is malformed or the bytes are not UTF-8 (what
    /// `removingPercentEncoding` gave).
    public func percentDecoded() -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { out.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            out.append(high << 4 | low)
        }
        return String(validating: out, as: UTF8.self)
    }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

extension Double {
    /// The value with `decimals` digits after the point, rounded half to even (what
    /// `String(format: "%.Nf")` printed for the seconds and durations the package shows; the last
    /// digit may differ from printf's for a value within a rounding error of a half).
    public func fixed(decimals: Int) -> String {
        guard isFinite else { return description }
        var scale = 1.0
        for _ in 0..<max(decimals, 0) { scale *= 10 }
        let scaled = (self * scale).rounded(.toNearestOrEven)
        guard abs(scaled) < 9e18 else { return description }
        let whole = Int64(scaled)
        let sign = whole < 0 ? "-" : ""
        let magnitude = whole.magnitude
        let integral = magnitude / UInt64(scale)
        guard decimals > 0 else { return sign + String(integral) }
        var fraction = String(magnitude % UInt64(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        return sign + String(integral) + "." + fraction
    }
}
