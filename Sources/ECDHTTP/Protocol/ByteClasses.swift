#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Character classes of RFC 9110 §5.6 on raw bytes.
enum ByteClass {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    static let sp: UInt8 = 32
    static let htab: UInt8 = 9
    static let colon: UInt8 = 58

    /// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    @inline(__always)
    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// field-vchar / SP / HTAB: visible ASCII and obs-text; never NUL, CR, LF, other controls or DEL.
    @inline(__always)
    static func isFieldValueChar(_ c: UInt8) -> Bool {
        c == htab || (c >= 0x20 && c != 0x7F)
    }

    /// Bytes allowed in a request-target: visible ASCII (RFC 3986 characters and more; never space or controls).
    @inline(__always)
    static func isTargetChar(_ c: UInt8) -> Bool { c > 0x20 && c < 0x7F }

    @inline(__always)
    static func isWhitespace(_ c: UInt8) -> Bool { c == sp || c == htab }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(c &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(c &- UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(c &- UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    /// ASCII case-insensitive comparison of bytes with a lower-case literal.
    @inline(__always)
    static func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        let l = lower.utf8Start
        for i in 0..<bytes.count {
            var c = bytes[i]
            if c >= 65 && c <= 90 { c |= 0x20 }
            if c != l[i] { return false }
        }
        return true
    }
}

extension UnsafeRawBufferPointer {
    /// Index of the first `byte` at or after `from`, using memchr.
    @inline(__always)
    func firstIndex(of byte: UInt8, from: Int) -> Int? {
        guard from < count, let base = baseAddress else { return nil }
        guard let hit = memchr(base + from, Int32(byte), count - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// A sub-range as its own buffer (no copy).
    @inline(__always)
    func slice(_ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[start..<end])
    }

    /// The range without leading and trailing SP/HTAB.
    @inline(__always)
    func trimmingWhitespace() -> UnsafeRawBufferPointer {
        var s = 0, e = count
        while s < e && ByteClass.isWhitespace(self[s]) { s += 1 }
        while e > s && ByteClass.isWhitespace(self[e - 1]) { e -= 1 }
        return slice(s, e)
    }

    var asString: String { String(decoding: self, as: UTF8.self) }
}
