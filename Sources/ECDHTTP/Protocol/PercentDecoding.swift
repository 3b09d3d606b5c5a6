/// Percent-decoding (RFC 3986 §2.1) of path segments and query components.
public enum PercentDecoding {
    /// Decodes `%XX` escapes; with `plusAsSpace`, `+` becomes a space (form encoding).
    /// Returns nil for a malformed escape or bytes that are not UTF-8.
    public static func decode<S: StringProtocol>(_ s: S, plusAsSpace: Bool = false) -> String? {
        // Fast path without allocating a byte copy: most paths and values have no escapes.
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(s)
        }
        // One allocation, the String: the bytes are decoded into scratch space (on the stack for a
        // path segment's size), then validated as UTF-8 into the result.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: s.utf8.count) { out -> String? in
            var written = 0
            var bytes = s.utf8.makeIterator()
            while let byte = bytes.next() {
                if byte == UInt8(ascii: "%") {
                    guard let high = bytes.next(), let low = bytes.next(),
                          let hi = hexValue(high), let lo = hexValue(low) else { return nil }
                    out[written] = hi << 4 | lo
                } else if plusAsSpace && byte == UInt8(ascii: "+") {
                    out[written] = UInt8(ascii: " ")
                } else {
                    out[written] = byte
                }
                written += 1
            }
            return String(validating: UnsafeBufferPointer(rebasing: out[..<written]), as: UTF8.self)
        }
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
